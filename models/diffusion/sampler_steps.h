#pragma once
// The pieces the samplers are written from (samplers.h): the schedule's levels, the
// denoiser called at one level for the whole batch, the ancestral split of a step, and the
// noise a stochastic step draws. Internal to the sampler files.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "core/error.h"
#include "models/diffusion/brownian_tree.h"
#include "models/diffusion/samplers.h"

namespace zoo::diffusion::steps {

inline double at(const torch::Tensor& sigmas, int64_t i) { return sigmas[i].item<double>(); }

inline torch::Tensor per_example(const torch::Tensor& x, double sigma) {
  return torch::full({x.size(0)}, sigma, torch::TensorOptions().dtype(torch::kDouble).device(x.device()));
}

inline torch::Tensor denoised_at(const Denoiser& model, const torch::Tensor& x, double sigma) {
  return model(x, per_example(x, sigma));
}

inline void report(const StepCallback& callback, int64_t i, double sigma, double next, const torch::Tensor& x,
                   const torch::Tensor& denoised) {
  if (callback) callback({i, sigma, next, x, denoised});
}

inline int64_t steps_of(const torch::Tensor& sigmas) {
  if (sigmas.dim() != 1 || sigmas.size(0) < 2) throw Error("a schedule needs at least one step", ErrorKind::usage);
  return sigmas.size(0) - 1;
}

// The span an adaptive or λ-spaced solver integrates over: σ_0 and the last positive level
// (a schedule's final 0 is then one denoising step).
inline std::pair<double, double> span(const torch::Tensor& sigmas) {
  const int64_t n = steps_of(sigmas);
  const double last = at(sigmas, n);
  return {at(sigmas, 0), last == 0 ? at(sigmas, n - 1) : last};
}

// The ancestral split of a step σ → σ_next: go down deterministically to σ_down, then add
// noise σ_up, with σ_down² + σ_up² = σ_next² (η scales the noise).
inline std::pair<double, double> ancestral_step(double sigma, double next, double eta) {
  if (next == 0) return {0.0, 0.0};
  const double up = std::min(next, eta * std::sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma)));
  return {std::sqrt(next * next - up * up), up};
}

// The order a multistep solver runs at: --order when given, within what the solver supports.
inline int64_t order_of(const SamplerOptions& o, const std::string& sampler, int64_t lowest, int64_t highest,
                        int64_t fallback) {
  const int64_t order = o.order.value_or(fallback);
  if (order < lowest || order > highest)
    throw Error("--order " + std::to_string(order) + ": " + sampler + " supports orders " + std::to_string(lowest) +
                    " to " + std::to_string(highest),
                ErrorKind::usage);
  return order;
}

// The Brownian motion an SDE sampler draws its noise from, in t = ln σ over the schedule's
// positive levels (k-diffusion's BrownianTreeNoiseSampler with a log transform): its dyadic
// resolution is then as fine near σ_min as near σ_max.
class LevelNoise {
 public:
  // A schedule of one positive level (one step, to 0) draws no noise; its tree spans a unit
  // interval it never queries.
  LevelNoise(const torch::Tensor& x, const torch::Tensor& sigmas, const SamplerOptions& o)
      : LevelNoise(x, o, std::log(sigmas.masked_select(sigmas > 0).min().item<double>()),
                   std::log(sigmas.max().item<double>())) {}
  // Standard normal noise for the step σ → σ_next (both positive).
  torch::Tensor operator()(double sigma, double next) const { return tree_.noise(std::log(sigma), std::log(next)); }

 private:
  LevelNoise(const torch::Tensor& x, const SamplerOptions& o, double low, double high)
      : tree_(x.sizes().vec(), low, std::max(high, low + 1), o.seed, o.first_index, x.options()) {}

  BrownianTree tree_;
};

}  // namespace zoo::diffusion::steps
