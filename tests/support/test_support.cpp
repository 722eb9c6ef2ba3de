#include "support/test_support.h"

#include "core/error.h"

#include <ftw.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace zoo::test {

void randomize_batch_norms(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (const auto& m : model.modules(false))
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.normal_(0, 0.1);
      bn->running_mean.normal_(0, 0.1);
      bn->running_var.uniform_(0.5, 1.5);
    }
}

double relative_error(const torch::Tensor& a, const torch::Tensor& reference) {
  return ((a - reference).norm() / reference.norm()).item<double>();
}
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "zoo_test_XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

namespace {
int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }
}  // namespace

// nftw rather than std::filesystem::remove_all: PyTorch 2.5+ wheels export their own
// statically linked copy of libstdc++'s filesystem functions (pytorch/pytorch#133437),
// and on the GPU machine (torch 2.11) the test binary bound to that copy and crashed.
TempDir::~TempDir() { ::nftw(path_.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

testing::AssertionResult throws_error_with(const std::function<void()>& action, const std::vector<std::string>& parts) {
  try {
    action();
  } catch (const zoo::Error& error) {
    const std::string message = error.what();
    for (const std::string& part : parts)
      if (message.find(part) == std::string::npos)
        return testing::AssertionFailure() << "the message \"" << message << "\" lacks \"" << part << "\"";
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "no zoo::Error was thrown";
}

CommandResult run_command(const std::string& command) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed for: " + command);
  std::string output;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return {code, output};
}

CommandResult run_zoo(const std::string& executable, const std::string& arguments) {
  return run_command(std::string(ZOO_BIN_DIR) + "/" + executable + " " + arguments);
}

void expect_clean_error(const std::string& executable, const std::string& arguments, const std::string& what) {
  const CommandResult result = run_zoo(executable, arguments);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_EQ(result.output.rfind("error: ", 0), 0u) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
  EXPECT_NE(result.output.find(what), std::string::npos) << result.output;
}

nlohmann::json run_zoo_json(const std::string& executable, const std::string& arguments) {
  const CommandResult result = run_zoo(executable, arguments + " --format json");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  const size_t start = result.output.find_first_of("{[");
  if (start == std::string::npos) throw std::runtime_error(executable + " printed no JSON: " + result.output);
  return nlohmann::json::parse(result.output.substr(start));
}

void expect_same_tensors(const weights::NamedTensors& expected, const weights::NamedTensors& actual) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& [name, tensor] = expected[i];
    SCOPED_TRACE(name);
    EXPECT_EQ(actual[i].first, name);
    EXPECT_EQ(actual[i].second.scalar_type(), tensor.scalar_type());
    EXPECT_EQ(actual[i].second.sizes(), tensor.sizes());
    EXPECT_TRUE(torch::equal(actual[i].second, tensor));
  }
}

std::string checkpoint_part(const std::string& run, const std::string& key) {
  const std::string last = run + "/checkpoints/last.safetensors";
  const auto metadata = weights::read_safetensors(last).metadata;
  const auto it = metadata.find(key);
  return it == metadata.end() ? "" : run + "/checkpoints/" + it->second;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace zoo::test
