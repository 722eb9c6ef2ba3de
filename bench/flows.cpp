// Flow workloads, one per process so that peak memory is the workload's own:
//   nice_train   NICE training steps (4 additive couplings, 5 × 1000 ReLU, logistic prior) on
//                a batch of 256 dequantised 28×28 images, Adam
//   glow_sample  Glow sampling (L = 2, K = 8, 256 hidden, LU 1×1 convolutions, learned split
//                and top priors) of 1×28×28 images at temperature 0.7, inference mode
// Prints the rate, the parameter count and peak resident memory as JSON; bench/run.sh runs
// the same networks rebuilt in PyTorch (bench/flows.py) and prints the ratio.
#include <string>

#include "bench/bench_support.h"
#include "core/error.h"
#include "core/options.h"
#include "core/runtime.h"
#include "models/flows/flow_model.h"
#include "train/adam.h"

using namespace zoo;

namespace {

flows::FlowModel image_flow(const std::string& model) {
  flows::FlowModelConfig config;
  config.model = model;
  config.shape = {1, 28, 28};
  return flows::FlowModel(config);
}

Json nice_train(const Runtime& runtime, int64_t batch, int64_t steps) {
  flows::FlowModel model = image_flow("nice");
  model->to(runtime.device);
  train::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-3));
  const torch::Tensor x = (torch::randint(0, 256, {batch, 1, 28, 28}).to(torch::kFloat) / 255).to(runtime.device);
  bench::Stopwatch watch(runtime.device);
  for (int64_t step = 0; step < 3 + steps; ++step) {
    if (step == 3) watch.restart();  // after three untimed steps
    const torch::Tensor loss = model->loss(x);
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  return {{"batch", batch},
          {"steps_per_second", static_cast<double>(steps) / watch.seconds()},
          {"parameters", bench::count_parameters(*model)}};
}

Json glow_sample(const Runtime& runtime, int64_t batch, int64_t passes) {
  flows::FlowModel model = image_flow("glow");
  model->to(runtime.device);
  model->eval();
  torch::InferenceMode inference;
  model->sample(batch, 0.7);  // warm-up
  const bench::Stopwatch watch(runtime.device);
  for (int64_t i = 0; i < passes; ++i) model->sample(batch, 0.7);
  return {{"batch", batch},
          {"samples_per_second", static_cast<double>(passes * batch) / watch.seconds()},
          {"parameters", bench::count_parameters(*model)}};
}

struct BenchOptions : CommonOptions {
  std::string workload = "nice_train";
  int64_t batch = 0, steps = 20;
};

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] {
    using O = BenchOptions;
    Flags<O> flags("bench_flows", "Time NICE training steps or Glow sampling");
    flags.common()
        .choice("workload", "what to time", &O::workload, {"nice_train", "glow_sample"})
        .integer("batch", "batch size (0 = 256 for nice_train, 64 for glow_sample)", &O::batch, Bounds::at_least(0))
        .integer("steps", "timed steps (nice_train) or sampling passes (glow_sample)", &O::steps, Bounds::at_least(1));
    const BenchOptions options = flags.parse(argc, argv);
    const Runtime runtime = setup_runtime(options);
    const std::string& workload = options.workload;
    const bool train = workload == "nice_train";
    const int64_t batch = options.batch > 0 ? options.batch : train ? 256 : 64;
    const int64_t steps = options.steps;
    bench::print_result(train ? nice_train(runtime, batch, steps) : glow_sample(runtime, batch, steps), workload,
                        runtime);
    return 0;
  });
}
