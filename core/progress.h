#pragma once
// Progress of a long loop: a redrawn bar with rate and ETA on a terminal, and plain
// periodic lines when stderr is a file or pipe (logs and CI stay readable).
#include <chrono>
#include <string>

namespace zoo {

class Progress {
 public:
  Progress(std::string label, int64_t total, int64_t start = 0);
  // `done` counts from 0 to total; `status` is appended (e.g. "loss 0.231").
  void update(int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");

 private:
  void print(int64_t done, const std::string& status, bool final);
  std::string label_;
  int64_t total_, start_;
  bool terminal_;
  std::chrono::steady_clock::time_point started_, last_print_;
  int64_t last_printed_ = -1;
};

// "1m05s", "3h02m": short durations for progress lines and summaries.
std::string format_duration(double seconds);

}  // namespace zoo
