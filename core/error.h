#pragma once
// zoo::Error is the one exception type for problems a user can act on. Its message says
// what went wrong, where (file, key, flag) and what was expected; run_main() prints it as
// a single "error: ..." line and turns its kind into the process exit status.
#include <stdexcept>
#include <string>

namespace zoo {

enum class ErrorKind {
  usage,    // a bad flag or flag value: exit 2
  input,    // a bad file, shape, key or spec: exit 2
  runtime,  // anything else that went wrong: exit 1
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::input)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return kind_ == ErrorKind::runtime ? 1 : 2; }

 private:
  ErrorKind kind_;
};

// The first line of an exception's message, without the backtrace LibTorch appends to
// its own (c10::Error): what a user sees after "error: ".
std::string first_line(const std::exception& e);

// Thrown by --help: not a failure, the program stops with exit 0.
struct HelpRequested {};

}  // namespace zoo
