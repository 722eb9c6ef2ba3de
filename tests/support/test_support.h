#pragma once
// Helpers shared by the test suites: scratch directories and running the real executables.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "weights/safetensors.h"

#include <torch/torch.h>

namespace zoo::test {

// Runs a zoo executable (with --format json added) that must succeed, and parses its JSON
// output (from the first '{' or '[').
nlohmann::json run_zoo_json(const std::string& executable, const std::string& arguments);

// Same names in the same order, same dtypes, shapes and values.
void expect_same_tensors(const weights::NamedTensors& expected, const weights::NamedTensors& actual);

// Random running statistics and affine terms in every BatchNorm2d of `model`, so that eval
// mode and folding the norms into convolutions are exercised.
void randomize_batch_norms(torch::nn::Module& model);

// ‖a − reference‖ / ‖reference‖.
double relative_error(const torch::Tensor& a, const torch::Tensor& reference);

// Passes when `action` throws a zoo::Error whose message contains every one of `parts`.
testing::AssertionResult throws_error_with(const std::function<void()>& action, const std::vector<std::string>& parts);

// A fresh directory under the system temp dir, removed with everything in it on scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line and captures its output and exit status.
CommandResult run_command(const std::string& command);
// Runs one of zoo's executables from the build's bin/ directory with the given arguments.
CommandResult run_zoo(const std::string& executable, const std::string& arguments);

// Expects exit status 2 and exactly one line of output, "error: ..." containing `what`.
void expect_clean_error(const std::string& executable, const std::string& arguments, const std::string& what);

// The file a run's last checkpoint names under `key` ("zoo.train_state", "zoo.ema"), or ""
// when it names none (weights/checkpoint.h).
std::string checkpoint_part(const std::string& run, const std::string& key);

void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);

}  // namespace zoo::test
