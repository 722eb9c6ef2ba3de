// One training step of a small MLP (3 x 256 SiLU, batch 256, Adam): the workload that
// shows whether LibTorch's threads and the BLAS behind it are set up well. Prints steps/s
// as JSON; bench/run.sh runs the same workload in PyTorch and prints the ratio.
#include <chrono>
#include <iostream>

#include "core/options.h"
#include "core/runtime.h"
#include "train/adam.h"

using namespace zoo;

namespace {

struct BenchOptions : zoo::CommonOptions {
  int64_t steps = 300, warmup = 30;
};

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] {
    Flags<BenchOptions> flags("bench_mlp_step", "Time training steps of a 3x256 SiLU MLP");
    flags.common()
        .integer("steps", "timed steps", &BenchOptions::steps, Bounds::at_least(1))
        .integer("warmup", "untimed steps first", &BenchOptions::warmup, Bounds::at_least(0));
    const BenchOptions options = flags.parse(argc, argv);
    const Runtime runtime = setup_runtime(options);
    torch::nn::Sequential model(torch::nn::Linear(64, 256), torch::nn::SiLU(), torch::nn::Linear(256, 256),
                                torch::nn::SiLU(), torch::nn::Linear(256, 256), torch::nn::SiLU(),
                                torch::nn::Linear(256, 10));
    model->to(runtime.device);
    zoo::train::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
    const torch::Tensor x = torch::randn({256, 64}, runtime.device), y = torch::randn({256, 10}, runtime.device);
    auto step = [&] {
      optimizer.zero_grad();
      torch::mse_loss(model->forward(x), y).backward();
      optimizer.step();
    };
    for (int64_t i = 0; i < options.warmup; ++i) step();
    if (runtime.device.is_cuda()) torch::cuda::synchronize();
    const int64_t steps = options.steps;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < steps; ++i) step();
    if (runtime.device.is_cuda()) torch::cuda::synchronize();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << Json{{"workload", "mlp_step"},
                      {"impl", "zoo"},
                      {"threads", runtime.threads},
                      {"device", runtime.device.str()},
                      {"steps_per_second", static_cast<double>(steps) / seconds}}
                     .dump()
              << std::endl;
    return 0;
  });
}
