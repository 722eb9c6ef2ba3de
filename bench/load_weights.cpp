// Loading EfficientNet-B7's weights (66M parameters) from safetensors into the model,
// against the time it takes just to read the file's bytes. Prints both and the ratio.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/atomic_file.h"
#include "core/options.h"
#include "core/runtime.h"
#include "models/registry.h"
#include "weights/safetensors.h"
#include "weights/state_dict.h"

using namespace zoo;

namespace {
template <typename F>
double best_seconds(int repeats, F&& f) {
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}
struct BenchOptions : CommonOptions {
  std::string model = "efficientnet_b7";
  int64_t repeats = 3;
};

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] {
    Flags<BenchOptions> flags("bench_load_weights",
                              "Time loading B7 weights from safetensors against reading the file");
    flags.common()
        .text("model", "model whose weights to load", &BenchOptions::model)
        .integer("repeats", "best of N", &BenchOptions::repeats, Bounds::at_least(1));
    const BenchOptions options = flags.parse(argc, argv);
    setup_runtime(options);
    auto model = models::build_model(options.model);
    const std::string path = (std::filesystem::temp_directory_path() / "zoo_bench_weights.safetensors").string();
    weights::write_safetensors(path, weights::state_dict(*model));
    const int repeats = static_cast<int>(options.repeats);
    // Both read the bytes once from the page cache; loading also validates, maps and copies
    // every tensor into the model's parameters.
    const double read = best_seconds(repeats, [&] { (void)read_file(path).size(); });
    const double load =
        best_seconds(repeats, [&] { weights::load_state_dict(*model, weights::read_safetensors(path).tensors); });
    const auto bytes = std::filesystem::file_size(path);
    std::filesystem::remove(path);
    std::cout
        << Json{{"workload", "load_weights"}, {"model", options.model}, {"megabytes", static_cast<double>(bytes) / 1e6},
                {"read_seconds", read},       {"load_seconds", load},   {"ratio", load / read}}
               .dump()
        << std::endl;
    return 0;
  });
}
