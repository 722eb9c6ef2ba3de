// sample_diffusion: draws samples from a trained diffusion model or rectified flow with
// any sampler and schedule, writes a picture (.png) or the samples themselves
// (.safetensors), and prints the network evaluations per sample and the throughput.
// Sample i depends only on (--seed, i): not on --batch-size, not on --n.
#include <cstdio>

#include "core/cli.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/strings.h"
#include "models/diffusion/generate.h"
#include "train/diffusion_io.h"
#include "train/sample_picture.h"
#include "weights/safetensors.h"

using namespace zoo;
namespace dm = zoo::diffusion;

namespace {

int run(int argc, char** argv) {
  Cli cli("sample_diffusion", "Draw samples from a trained diffusion model or rectified flow");
  cli.common()
      .required("checkpoint", "run directory or checkpoint file of train_diffusion")
      .required("out", "grid.png (a picture) or samples.safetensors (tensor 'samples' in data space, 'labels')")
      .text("sampler", diffusion::samplers().names_text(), "heun")
      .integer("steps", "noise levels of the schedule (heun: 2·steps − 1 evaluations)", 18)
      .text("schedule", diffusion::schedules().names_text() + " (auto: the objective's own)", "auto")
      .real("sigma-min", "smallest σ of the schedule (0 = the schedule's default)", 0)
      .real("sigma-max", "largest σ of the schedule (0 = the schedule's default)", 0)
      .real("rho", "ρ of the karras schedule", 7)
      .integer("n", "number of samples", 64)
      .integer("first", "index of the first sample (sample i is drawn from --seed and i alone)", 0)
      .integer("batch-size", "samples per network batch", 256)
      .integer("class", "class of every sample for a conditional model (−1: cycle through the classes)", -1)
      .real("guidance", "classifier-free guidance scale (1 = the conditional model alone)", 1)
      .real("churn", "edm sampler: S_churn", 0)
      .real("s-tmin", "edm sampler: S_tmin", 0)
      .real("s-tmax", "edm sampler: S_tmax (0 = no limit)", 0)
      .real("s-noise", "edm sampler: S_noise", 1)
      .real("eta", "euler_ancestral and ddim: noise scale (0 = deterministic)", 1)
      .real("rtol", "rk45: relative tolerance", 1e-5)
      .real("atol", "rk45: absolute tolerance", 1e-5)
      .flag("no-ema", "use the raw training weights instead of their EMA");
  const Json o = cli.parse(argc, argv);
  const Runtime runtime = setup_runtime(o);
  const std::string out = o["out"];
  if (!ends_with(out, ".png") && !ends_with(out, ".safetensors"))
    throw Error("--out " + out + ": expected a .png or .safetensors path", ErrorKind::usage);
  const int64_t n = o["n"];
  if (n < 1) throw Error("--n must be at least 1", ErrorKind::usage);
  if (o["first"].get<int64_t>() < 0) throw Error("--first must be 0 or positive", ErrorKind::usage);

  train::LoadedDiffusion loaded = train::load_diffusion(o["checkpoint"], !o["no_ema"].get<bool>());
  const dm::DiffusionModel& model = *loaded.model;
  model.net()->to(runtime.device);

  dm::GenerateOptions g;
  g.sampler = o["sampler"];
  g.schedule = dm::default_schedule(loaded.objective.empty() ? "edm" : loaded.objective, o["steps"]);
  if (o["schedule"] != "auto") g.schedule.name = o["schedule"];
  if (o["sigma_min"].get<double>() > 0) g.schedule.sigma_min = o["sigma_min"];
  if (o["sigma_max"].get<double>() > 0) g.schedule.sigma_max = o["sigma_max"];
  g.schedule.rho = o["rho"];
  g.sampler_options.seed = runtime.seed;
  g.sampler_options.s_churn = o["churn"];
  g.sampler_options.s_tmin = o["s_tmin"];
  if (o["s_tmax"].get<double>() > 0) g.sampler_options.s_tmax = o["s_tmax"];
  g.sampler_options.s_noise = o["s_noise"];
  g.sampler_options.eta = o["eta"];
  g.sampler_options.rtol = o["rtol"];
  g.sampler_options.atol = o["atol"];
  g.batch_size = o["batch_size"];
  g.guidance = o["guidance"];
  g.device = runtime.device;

  const int64_t classes = model.num_classes(), label = o["class"];
  const auto first = static_cast<uint64_t>(o["first"].get<int64_t>());
  torch::Tensor labels;
  if (label >= 0)  // an unconditional model refuses it (DiffusionModel::denoiser)
    labels = torch::full({n}, label, torch::kLong);
  else if (classes > 0)
    labels = (torch::arange(n, torch::kLong) + static_cast<int64_t>(first)) % classes;

  const dm::Generated generated = dm::generate(model, n, labels, g, first);
  const torch::Tensor samples = model.to_data_space(generated.samples);
  std::string written = out;
  if (ends_with(out, ".safetensors")) {
    weights::NamedTensors tensors{{"samples", samples.contiguous()}};
    if (labels.defined()) tensors.emplace_back("labels", labels);
    weights::write_safetensors(out, tensors);
  } else {
    written = train::save_samples_picture(out, samples);
  }
  std::printf("%lld samples with %s, %lld steps: NFE %lld per sample, %.2f s, %.1f samples/s; wrote %s\n",
              static_cast<long long>(n), g.sampler.c_str(), static_cast<long long>(g.schedule.steps),
              static_cast<long long>(generated.nfe), generated.seconds, static_cast<double>(n) / generated.seconds,
              written.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
