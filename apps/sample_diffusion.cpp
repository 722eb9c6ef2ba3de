// sample_diffusion: draws samples from a trained diffusion model or rectified flow with
// any sampler and schedule, writes a picture (.png) or the samples themselves
// (.safetensors), and prints the network evaluations per sample and the throughput.
// Sample i depends only on (--seed, i): not on --batch-size, not on --n.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/options.h"
#include "core/runtime.h"
#include "core/strings.h"
#include "models/diffusion/generate.h"
#include "train/diffusion_io.h"
#include "train/sample_file.h"
#include "train/sample_picture.h"

using namespace zoo;
namespace dm = zoo::diffusion;

namespace {

struct SampleOptions : CommonOptions {
  std::string checkpoint, out;
  std::string sampler = "heun";
  int64_t steps = 18;
  std::string schedule = "auto";
  double sigma_min = 0, sigma_max = 0, rho = 7;
  int64_t n = 64, first = 0, batch_size = 256;
  int64_t label = -1;  // --class
  double guidance = 1;
  // The sampler's settings: unset, the sampler's own; set, only for a sampler that reads them.
  c10::optional<double> churn, s_tmin, s_tmax, s_noise, eta, rtol, atol;
  c10::optional<int64_t> order;
  std::string variant;
  bool no_ema = false;
  double beta_alpha = 0.6, beta_beta = 0.6;
  std::vector<std::string> sigmas;  // a schedule by hand
  std::string sigmas_file;
  bool verbose = false;
};

// "edm" or "euler_ancestral, ddim or ...": the samplers that read a setting.
std::string takes(unsigned setting) { return or_list(dm::samplers_taking(setting)); }

Flags<SampleOptions> flags() {
  using O = SampleOptions;
  std::vector<std::string> schedules = dm::schedules().names();
  schedules.insert(schedules.begin(), "auto");
  Flags<O> flags("sample_diffusion", "Draw samples from a trained diffusion model or rectified flow");
  flags.common()
      .required("checkpoint", "run directory or checkpoint file of train_diffusion", &O::checkpoint)
      .required("out", "grid.png (a picture) or samples.safetensors (tensor 'samples' in data space, 'labels')",
                &O::out)
      .choice("sampler", "the sampler", &O::sampler, dm::samplers().names())
      .integer("steps", "noise levels of the schedule (heun: 2·steps − 1 evaluations)", &O::steps, Bounds::at_least(1))
      .choice("schedule", "the noise schedule (auto: the objective's own)", &O::schedule, schedules)
      .real("sigma-min", "smallest σ of the schedule (0 = the schedule's default)", &O::sigma_min, Bounds::at_least(0))
      .real("sigma-max", "largest σ of the schedule (0 = the schedule's default)", &O::sigma_max, Bounds::at_least(0))
      .real("rho", "ρ of the karras schedule", &O::rho, Bounds::above(0))
      .integer("n", "number of samples", &O::n, Bounds::at_least(1))
      .integer("first", "index of the first sample (sample i is drawn from --seed and i alone)", &O::first,
               Bounds::at_least(0))
      .integer("batch-size", "samples per network batch", &O::batch_size, Bounds::at_least(1))
      .integer("class", "class of every sample for a conditional model (−1: cycle through the classes)", &O::label,
               Bounds::at_least(-1))
      .real("guidance", "classifier-free guidance scale (1 = the conditional model alone)", &O::guidance)
      .real("churn", "S_churn of " + takes(dm::SamplerSetting::churn) + " (default 0)", &O::churn, Bounds::at_least(0))
      .real("s-tmin", "S_tmin of " + takes(dm::SamplerSetting::churn) + " (default 0)", &O::s_tmin, Bounds::at_least(0))
      .real("s-tmax", "S_tmax of " + takes(dm::SamplerSetting::churn) + " (default: no limit)", &O::s_tmax,
            Bounds::above(0))
      .real("s-noise", "the noise's scale S_noise in " + takes(dm::SamplerSetting::noise) + " (default 1)", &O::s_noise,
            Bounds::at_least(0))
      .real("eta",
            "the noise scale η of " + takes(dm::SamplerSetting::eta) +
                ", 0 = deterministic (default 1; 0 for ddim, deterministic DDIM)",
            &O::eta, Bounds::at_least(0))
      .real("rtol",
            "relative tolerance of " + takes(dm::SamplerSetting::tolerance) + " (default 1e-5; dpm_adaptive 0.05)",
            &O::rtol, Bounds::above(0))
      .real("atol",
            "absolute tolerance of " + takes(dm::SamplerSetting::tolerance) + " (default 1e-5; dpm_adaptive 0.0078)",
            &O::atol, Bounds::above(0))
      .integer("order",
               "highest order of " + takes(dm::SamplerSetting::order) +
                   " (lms, ipndm, ipndm_v 1–4; deis 1–3; unipc 1–3, default 2; dpm_adaptive 2–3; default the highest)",
               &O::order, Bounds::at_least(1))
      .text("variant", "the B(h) of " + takes(dm::SamplerSetting::variant) + ": bh1 or bh2 (default bh2)", &O::variant)
      .flag("no-ema", "use the raw training weights instead of their EMA", &O::no_ema)
      .real("beta-alpha", "beta schedule: α of its Beta(α, β) distribution over the model's time", &O::beta_alpha,
            Bounds::above(0))
      .real("beta-beta", "beta schedule: β", &O::beta_beta, Bounds::above(0))
      .texts("sigmas", "the noise levels by hand, decreasing, e.g. 14.6,2.9,0.5,0 (instead of --schedule, --steps)",
             &O::sigmas)
      .text("sigmas-file", "a file of noise levels by hand (numbers separated by spaces, commas or lines)",
            &O::sigmas_file)
      .flag("verbose", "print the noise levels sampled at", &O::verbose);
  return flags;
}

// The numbers of a list, each checked.
std::vector<double> numbers(const std::vector<std::string>& items, const std::string& what) {
  std::vector<double> values;
  for (const std::string& item : items) {
    size_t used = 0;
    double value = 0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size()) throw Error(what + ": '" + item + "' is not a number", ErrorKind::usage);
    values.push_back(value);
  }
  return values;
}

// The words of a text, split at whitespace and commas.
std::vector<std::string> words(std::string text) {
  std::replace(text.begin(), text.end(), ',', ' ');
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

int run(int argc, char** argv) {
  const SampleOptions o = flags().parse(argc, argv);
  const Runtime runtime = setup_runtime(o);
  if (!ends_with(o.out, ".png") && !ends_with(o.out, ".safetensors"))
    throw Error("--out " + o.out + ": expected a .png or .safetensors path", ErrorKind::usage);

  train::LoadedDiffusion loaded = train::load_diffusion(o.checkpoint, !o.no_ema);
  const dm::DiffusionModel& model = *loaded.model;
  model.net()->to(runtime.device);

  dm::GenerateOptions g;
  g.sampler = o.sampler;
  g.schedule = dm::default_schedule(loaded.objective, o.steps);
  if (o.schedule != "auto") g.schedule.name = o.schedule;
  if (o.sigma_min > 0) g.schedule.sigma_min = o.sigma_min;
  if (o.sigma_max > 0) g.schedule.sigma_max = o.sigma_max;
  g.schedule.rho = o.rho;
  g.sampler_options.seed = runtime.seed;
  // Each setting given goes to the sampler, which must read it.
  const unsigned reads = dm::samplers().find(o.sampler).settings;
  const auto set = [&](const char* flag, const auto& value, unsigned setting, auto& field) {
    if (!value) return;
    if (!(reads & setting))
      throw Error(
          std::string(flag) + ": the " + o.sampler + " sampler does not read it (read by " + takes(setting) + ")",
          ErrorKind::usage);
    field = *value;
  };
  dm::SamplerOptions& so = g.sampler_options;
  set("--churn", o.churn, dm::SamplerSetting::churn, so.s_churn);
  set("--s-tmin", o.s_tmin, dm::SamplerSetting::churn, so.s_tmin);
  set("--s-tmax", o.s_tmax, dm::SamplerSetting::churn, so.s_tmax);
  set("--s-noise", o.s_noise, dm::SamplerSetting::noise, so.s_noise);
  set("--eta", o.eta, dm::SamplerSetting::eta, so.eta);
  set("--rtol", o.rtol, dm::SamplerSetting::tolerance, so.rtol);
  set("--atol", o.atol, dm::SamplerSetting::tolerance, so.atol);
  set("--order", o.order, dm::SamplerSetting::order, so.order);
  set("--variant", o.variant.empty() ? c10::optional<std::string>() : o.variant, dm::SamplerSetting::variant,
      so.variant);
  g.schedule.alpha = o.beta_alpha;
  g.schedule.beta = o.beta_beta;
  if (!o.sigmas.empty() && !o.sigmas_file.empty())
    throw Error("give --sigmas or --sigmas-file, not both", ErrorKind::usage);
  if (!o.sigmas.empty()) g.sigmas = dm::sigmas_from_list(numbers(o.sigmas, "--sigmas"), "--sigmas");
  if (!o.sigmas_file.empty())
    g.sigmas = dm::sigmas_from_list(numbers(words(read_file(o.sigmas_file)), o.sigmas_file), o.sigmas_file);
  // The levels once: printed, reported, and sampled at.
  if (!g.sigmas.defined()) g.sigmas = dm::make_sigmas(g.schedule);
  const torch::Tensor& levels = g.sigmas;
  if (o.verbose)
    std::fprintf(
        stderr, "sigmas (%lld levels): %s\n", static_cast<long long>(levels.size(0)),
        join(std::vector<double>(levels.data_ptr<double>(), levels.data_ptr<double>() + levels.size(0)), ", ").c_str());
  g.batch_size = o.batch_size;
  g.progress = "sample " + o.sampler;
  g.guidance = o.guidance;
  g.device = runtime.device;

  const int64_t n = o.n, classes = model.num_classes();
  const auto first = static_cast<uint64_t>(o.first);
  const torch::Tensor labels = dm::class_labels(n, o.label, classes, o.first);

  const dm::Generated generated = dm::generate(model, n, labels, g, first);
  const torch::Tensor samples = model.to_data_space(generated.samples);
  std::string written = o.out;
  if (ends_with(o.out, ".safetensors")) {
    train::write_sample_file(o.out, {samples, labels});
  } else {
    written = train::save_samples_picture(o.out, samples);
  }
  std::printf("%lld samples with %s, %lld steps: NFE %lld per sample, %.2f s, %.1f samples/s; wrote %s\n",
              static_cast<long long>(n), g.sampler.c_str(), static_cast<long long>(levels.size(0) - 1),
              static_cast<long long>(generated.nfe), generated.seconds, static_cast<double>(n) / generated.seconds,
              written.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
