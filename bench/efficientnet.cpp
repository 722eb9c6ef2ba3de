// EfficientNet-B0 workloads, one per process so that peak memory is the workload's own:
//   infer  batch 8 (--batch) at 224x224, BatchNorm folded, inference mode (--precision bf16:
//          under bfloat16 autocast, on CUDA or a CPU with AVX512-BF16)
//   train  batch 128 (--batch) at 32x32, 10 classes, one SGD step
// Prints images/s and peak resident memory as JSON; bench/run.sh runs torchvision on the
// same workload (bench/efficientnet.py) and prints the ratio.
#include <torch/csrc/autograd/profiler_legacy.h>

#include "bench/bench_support.h"
#include "core/autocast.h"
#include "core/error.h"
#include "core/options.h"
#include "core/runtime.h"
#include "models/nn/fuse.h"
#include "models/registry.h"

using namespace zoo;

namespace {

struct BenchOptions : CommonOptions {
  std::string workload = "infer";
  int64_t iterations = 10;
  int64_t batch = 0;    // 0: the workload's own
  std::string profile;  // a chrome trace of a few more steps
  bool channels_last = false;
  std::string precision = "fp32";
};

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] {
    using O = BenchOptions;
    Flags<O> flags("bench_efficientnet", "Time EfficientNet-B0 inference or training steps");
    flags.common()
        .choice("workload", "what to time", &O::workload, {"infer", "train"})
        .integer("iterations", "timed iterations", &O::iterations, Bounds::at_least(1))
        .integer("batch", "images per step (0: 128 for train, 8 for infer)", &O::batch, Bounds::at_least(0))
        .text("profile", "after timing, write a chrome trace of 3 more steps here (bench/profile_summary.py reads it)",
              &O::profile)
        .flag("channels-last", "channels-last memory format", &O::channels_last)
        .choice("precision", "inference precision (bf16: autocast)", &O::precision, {"fp32", "bf16"});
    const BenchOptions options = flags.parse(argc, argv);
    const Runtime runtime = setup_runtime(options);
    const bool train = options.workload == "train";
    if (train && options.precision != "fp32")
      throw Error("--precision is for --workload infer (training is timed in float32)", ErrorKind::usage);
    const bool autocast = inference_autocast_for(options.precision, runtime.device);
    const int64_t batch = options.batch > 0 ? options.batch : train ? 128 : 8, size = train ? 32 : 224;
    models::Classifier net =
        models::build_classifier("efficientnet_b0", train ? Json{{"num_classes", 10}} : Json::object());
    net.module().to(runtime.device);
    const bool channels_last = options.channels_last;
    if (channels_last && train) models::to_channels_last(net.module());
    const torch::Tensor x = torch::randn({batch, 3, size, size}, runtime.device);
    const torch::Tensor y =
        torch::randint(0, 10, {batch}, torch::TensorOptions().dtype(torch::kLong).device(runtime.device));
    torch::optim::SGD optimizer(net.module().parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    std::function<void()> step;
    if (train) {
      net.module().train();
      step = [&] {
        optimizer.zero_grad();
        torch::nn::functional::cross_entropy(net(x), y).backward();
        optimizer.step();
      };
    } else {
      models::fuse_for_inference(net.module(), channels_last);
      const torch::Tensor input = channels_last ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
      step = [&, input] {
        c10::InferenceMode guard;
        net(input);
      };
    }
    // One autocast region around every step, as around a serving loop: its cache keeps the
    // bfloat16 copies of the weights autocast casts (the classifier's) from step to step.
    const AutocastGuard precision(autocast, runtime.device.type());
    step();  // warm-up
    const int64_t iterations = options.iterations;
    const bench::Stopwatch watch(runtime.device);
    for (int64_t i = 0; i < iterations; ++i) step();
    const double seconds = watch.seconds();
    bench::print_result({{"images_per_second", static_cast<double>(iterations * batch) / seconds}},
                        "b0_" + options.workload, runtime);
    if (!options.profile.empty()) {
      torch::autograd::profiler::RecordProfile guard(options.profile);
      for (int i = 0; i < 3; ++i) step();
    }
    return 0;
  });
}
