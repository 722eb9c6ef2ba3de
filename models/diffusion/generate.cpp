#include "models/diffusion/generate.h"

#include <chrono>
#include <optional>

#include "core/error.h"
#include "core/progress.h"
#include "core/seed.h"

namespace zoo::diffusion {

torch::Tensor class_labels(int64_t n, int64_t label, int64_t classes, int64_t first) {
  // A label for an unconditional model is refused when it is used (DiffusionModel::denoiser).
  if (label >= 0) return torch::full({n}, label, torch::kLong);
  if (classes > 0) return (torch::arange(n, torch::kLong) + first) % classes;
  return {};
}

Generated generate(const DiffusionModel& model, int64_t n, const torch::Tensor& labels, const GenerateOptions& options,
                   uint64_t first) {
  if (n < 1) throw Error("the number of samples must be at least 1", ErrorKind::usage);
  if (options.batch_size < 1) throw Error("--batch-size must be at least 1", ErrorKind::usage);
  const SamplerKind& sampler = samplers().find(options.sampler);
  const torch::Tensor sigmas =
      (options.sigmas.defined() ? options.sigmas : make_sigmas(options.schedule)).to(options.device);
  const double sigma_max = sigmas[0].item<double>();
  const auto started = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  model.net()->eval();

  std::vector<int64_t> shape{0};
  shape.insert(shape.end(), model.config().shape.begin(), model.config().shape.end());
  Generated out;
  std::vector<torch::Tensor> noise, samples;
  int64_t calls = 0;
  // Progress in steps of all batches (an adaptive sampler's steps count up to the schedule's).
  const int64_t steps = sigmas.size(0) - 1, batches = (n + options.batch_size - 1) / options.batch_size;
  std::optional<Progress> progress;
  if (!options.progress.empty()) progress.emplace(options.progress, batches * steps);
  for (int64_t start = 0; start < n; start += options.batch_size) {
    const int64_t size = std::min(options.batch_size, n - start);
    const uint64_t index = first + static_cast<uint64_t>(start);
    shape[0] = size;
    const torch::Tensor z =
        per_sample_randn(shape, options.sampler_options.seed, Stream::latent, index, options.device).to(torch::kDouble);
    int64_t batch_calls = 0;
    const GuidedDenoiser denoiser = counted(
        model.guided_denoiser(labels.defined() ? labels.slice(0, start, start + size) : labels, options.guidance),
        batch_calls);
    SamplerOptions sampler_options = options.sampler_options;
    sampler_options.first_index = index;
    const int64_t batch = start / options.batch_size;
    const StepCallback step = [&](const StepInfo& info) {
      if (progress) progress->update(batch * steps + std::min(info.step + 1, steps));
    };
    const torch::Tensor x = run_sampler(sampler, denoiser, z * sigma_max, sigmas, sampler_options, step);
    noise.push_back(z.to(torch::kFloat).cpu());
    samples.push_back(x.to(torch::kFloat).cpu());
    calls = std::max(calls, batch_calls);
  }
  if (progress) progress->finish();
  out.noise = torch::cat(noise);
  out.samples = torch::cat(samples);
  out.nfe = calls;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

}  // namespace zoo::diffusion
