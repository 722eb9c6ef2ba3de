// Diffusion workloads, one per process so that peak memory is the workload's own:
//   unet_sample  Heun sampling (EDM Algorithm 1, karras schedule over [0.002, 80], ρ = 7) of
//                a batch of 28x28 images from the default U-Net (32 channels, mult 1-2-2,
//                2 blocks, attention at 7x7), EDM preconditioning, inference mode
//   mlp_train    EDM-loss training steps of the 2-D MLP denoiser (3 x 256), AdamW, batch 512,
//                and the rate its matrix products alone allow (matmul_floor_steps_per_second)
// Prints the rate, the parameter count and peak resident memory as JSON; bench/run.sh runs
// the same networks rebuilt in PyTorch (bench/diffusion.py) and prints the ratio.
#include <algorithm>
#include <string>

#include "bench/bench_support.h"
#include "core/error.h"
#include "core/options.h"
#include "core/runtime.h"
#include "models/diffusion/loss.h"
#include "models/diffusion/mlp_net.h"
#include "models/diffusion/precond.h"
#include "models/diffusion/samplers.h"
#include "models/diffusion/schedule.h"
#include "models/diffusion/unet.h"
#include "train/adam.h"

using namespace zoo;
namespace dm = zoo::diffusion;

namespace {

// `steps` Heun steps on `batch` images, `repeats` times after one untimed pass.
Json unet_sample(const Runtime& runtime, int64_t batch, int64_t steps, int64_t repeats) {
  dm::UNetOptions o;  // the defaults: 28x28x1, channels 32, mult {1, 2, 2}, 2 blocks, attention at 7
  o.dropout = 0;
  dm::UNet net(o);
  // The U-Net starts with conv_out at zero (EDM's init_zero); time it with random weights,
  // as the PyTorch twin does, so that the samples are not just c_skip·x.
  const auto children = net->named_children();
  children["conv_out"]->as<torch::nn::Conv2d>()->reset_parameters();
  net->to(runtime.device);
  net->eval();
  const dm::PrecondOptions precond{};  // edm, σ_data 0.5
  const dm::Network network = dm::as_network(net.ptr());
  // x in float64 for the sampler, the network in float32 (as DiffusionModel::denoiser).
  int64_t calls = 0;
  const dm::Denoiser denoiser = dm::counted<dm::Denoiser>(
      [&](const torch::Tensor& x, const torch::Tensor& sigma) {
        return dm::denoise(precond, network, x.to(torch::kFloat), sigma).to(x.scalar_type());
      },
      calls);
  const torch::Tensor sigmas = dm::karras_sigmas(steps, 0.002, 80, 7);  // on the CPU: the sampler reads them as doubles
  const double sigma_max = sigmas[0].item<double>();
  auto run = [&] {
    c10::InferenceMode guard;
    const torch::Tensor z = torch::randn({batch, o.in_channels, o.resolution, o.resolution},
                                         torch::TensorOptions(torch::kDouble).device(runtime.device));
    return dm::sample_heun(denoiser, z * sigma_max, sigmas, dm::SamplerOptions{});
  };
  run();  // warm-up
  calls = 0;
  const bench::Stopwatch watch(runtime.device);
  for (int64_t i = 0; i < repeats; ++i) run();
  const double seconds = watch.seconds();
  return Json{{"parameters", bench::count_parameters(*net)},
              {"batch", batch},
              {"steps", steps},
              {"nfe", calls / repeats},
              {"samples_per_second", static_cast<double>(batch * repeats) / seconds}};
}

// The rate of the step's matrix products alone, timed apart with the same BLAS and threads:
// for every Linear the forward product and the weight gradient, and the input gradient
// except where the input needs none (the data, and the noise embedding). No implementation
// of this step in float32 on this machine runs faster than this.
double matmul_floor(const torch::nn::Module& net, int64_t batch, int64_t steps, const torch::Device& device) {
  struct Product {
    torch::Tensor a, b;
  };
  std::vector<Product> products;
  for (const auto& item : net.named_modules("", false)) {
    const std::string& name = item.key();
    const auto* linear = item.value()->as<torch::nn::Linear>();
    if (!linear) continue;
    const int64_t in = linear->options.in_features(), out = linear->options.out_features();
    const auto o = torch::TensorOptions(device);
    products.push_back({torch::randn({batch, in}, o), torch::randn({in, out}, o)});     // forward
    products.push_back({torch::randn({out, batch}, o), torch::randn({batch, in}, o)});  // weight gradient
    if (name != "input" && name != "embedding_mlp.0")
      products.push_back({torch::randn({batch, out}, o), torch::randn({out, in}, o)});  // input gradient
  }
  auto step = [&] {
    for (const Product& p : products) torch::mm(p.a, p.b);
  };
  for (int64_t i = 0; i < 10; ++i) step();
  // The best of five rounds: a floor is the fastest the products go, not their average
  // on a machine shared with other work.
  const int64_t per_round = std::max<int64_t>(1, steps / 5);
  double best = 0;
  for (int round = 0; round < 5; ++round) {
    const bench::Stopwatch watch(device);
    for (int64_t i = 0; i < per_round; ++i) step();
    best = std::max(best, static_cast<double>(per_round) / watch.seconds());
  }
  return best;
}

// `steps` timed training steps after `warmup` untimed ones, on fresh N(0, σ_data²) data.
Json mlp_train(const Runtime& runtime, int64_t batch, int64_t steps, int64_t warmup) {
  dm::MlpNet net(dm::MlpNetOptions{});  // features 2, hidden 256, 3 blocks, embedding 64
  net->to(runtime.device);
  net->train();
  // As train_diffusion: AdamW without weight decay.
  zoo::train::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(0));
  const dm::PrecondOptions precond{};  // edm, σ_data 0.5
  const dm::LossOptions loss{};        // edm: ln σ ~ N(−1.2, 1.2²)
  const dm::Network network = dm::as_network(net.ptr());
  auto step = [&] {
    const torch::Tensor y = precond.sigma_data * torch::randn({batch, 2}, runtime.device);
    const torch::Tensor sigma = dm::draw_sigma(loss, precond, batch, runtime.device);
    optimizer.zero_grad();
    dm::diffusion_loss(loss, precond, network, y, torch::randn_like(y), sigma).backward();
    optimizer.step();
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  const bench::Stopwatch watch(runtime.device);
  for (int64_t i = 0; i < steps; ++i) step();
  const double seconds = watch.seconds();
  return Json{{"parameters", bench::count_parameters(*net)},
              {"batch", batch},
              {"steps", steps},
              {"steps_per_second", static_cast<double>(steps) / seconds},
              {"matmul_floor_steps_per_second", matmul_floor(*net, batch, steps, runtime.device)}};
}

struct BenchOptions : CommonOptions {
  std::string workload = "unet_sample";
  int64_t batch = 0, steps = 0, repeats = 1, warmup = 30;
};

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] {
    using O = BenchOptions;
    Flags<O> flags("bench_diffusion", "Time diffusion sampling with a U-Net or training steps of the MLP denoiser");
    flags.common()
        .choice("workload", "what to time", &O::workload, {"unet_sample", "mlp_train"})
        .integer("batch", "batch size (0 = the workload's: 16 images to sample, 512 vectors to train on)", &O::batch,
                 Bounds::at_least(0))
        .integer("steps", "unet_sample: Heun steps, NFE 2N-1; mlp_train: timed steps (0 = 18 or 300)", &O::steps,
                 Bounds::at_least(0))
        .integer("repeats", "unet_sample: timed sampling passes after one untimed", &O::repeats, Bounds::at_least(1))
        .integer("warmup", "mlp_train: untimed steps first", &O::warmup, Bounds::at_least(0));
    const BenchOptions options = flags.parse(argc, argv);
    const Runtime runtime = setup_runtime(options);
    const std::string& workload = options.workload;
    const bool sample = workload == "unet_sample";
    const int64_t batch = options.batch > 0 ? options.batch : sample ? 16 : 512;
    const int64_t steps = options.steps > 0 ? options.steps : sample ? 18 : 300;
    const int64_t repeats = options.repeats, warmup = options.warmup;
    bench::print_result(sample ? unet_sample(runtime, batch, steps, repeats) : mlp_train(runtime, batch, steps, warmup),
                        workload, runtime);
    return 0;
  });
}
