#pragma once
// Samplers for the probability-flow ODE dx/dσ = (x − D(x; σ))/σ and its stochastic
// variants, in the EDM frame (x = data + σ·noise). Every sampler has one signature, as in
// k-diffusion: (denoiser, x at σ_0, σ_0 … σ_N = 0, options, callback) -> x at σ = 0.
// They work for every parameterization (precond.h), rectified flow included: Euler on
// this ODE is exactly Euler on the rectified-flow ODE in t.
#include <c10/util/Optional.h>
#include <torch/torch.h>

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/catalogue.h"

namespace zoo::diffusion {

// D(x; σ) with σ given per example, [B] float64.
using Denoiser = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& sigma)>;

// D(x; σ) under classifier-free guidance together with the unconditional estimate it was
// mixed from (undefined when there is no guidance): CFG++ renoises with the latter.
struct Guided {
  torch::Tensor denoised, unconditional;
};
using GuidedDenoiser = std::function<Guided(const torch::Tensor& x, const torch::Tensor& sigma)>;
// A denoiser without guidance, seen as a guided one.
GuidedDenoiser unguided(Denoiser model);

struct SamplerOptions {
  // EDM's stochastic sampler (Karras et al. Algorithm 2).
  double s_churn = 0, s_tmin = 0, s_tmax = std::numeric_limits<double>::infinity(), s_noise = 1;
  // euler_ancestral and ddim: the noise scale η (0 = deterministic); unset, each sampler's
  // own: 1 for euler_ancestral, 0 for ddim (DDIM as its users know it, deterministic).
  c10::optional<double> eta;
  // The adaptive samplers' tolerances; unset, each sampler's own: 1e-5 for rk45, k-diffusion's
  // 0.05 and 0.0078 for dpm_adaptive.
  c10::optional<double> rtol, atol;
  // The highest order of a multistep or adaptive solver (lms, ipndm, ipndm_v 1–4; deis, unipc
  // 1–3; dpm_adaptive 2–3); unset, the solver's own (its highest; unipc 2).
  c10::optional<int64_t> order;
  // UniPC's B(h): bh1 or bh2 (empty: bh2).
  std::string variant;
  // Fresh noise for example k of the batch comes from (seed, first_index + k), so a
  // sample never depends on the batch it was drawn in.
  uint64_t seed = 0;
  uint64_t first_index = 0;
};

struct StepInfo {
  int64_t step;
  double sigma, sigma_next;
  const torch::Tensor& x;         // before the step
  const torch::Tensor& denoised;  // D(x; σ) at the step's start
};
using StepCallback = std::function<void(const StepInfo&)>;

using Sampler = std::function<torch::Tensor(const Denoiser&, torch::Tensor, const torch::Tensor&, const SamplerOptions&,
                                            const StepCallback&)>;
using GuidedSampler = std::function<torch::Tensor(const GuidedDenoiser&, torch::Tensor, const torch::Tensor&,
                                                  const SamplerOptions&, const StepCallback&)>;

torch::Tensor sample_euler(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                           const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_heun(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                          const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_edm(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                         const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_euler_ancestral(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                     const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_ddim(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                          const SamplerOptions& options, const StepCallback& callback = {});
// DPM2: a midpoint (in log σ) second-order step; NFE 2 per step, 1 for the last to 0.
torch::Tensor sample_dpm_2(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                           const SamplerOptions& options, const StepCallback& callback = {});
// Linear multistep of order 4 (variable-step Adams–Bashforth in σ); NFE 1 per step.
torch::Tensor sample_lms(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                         const SamplerOptions& options, const StepCallback& callback = {});
// The SDE samplers draw their noise from a Brownian tree of each sample over the schedule's
// σ (brownian_tree.h), so a sample depends on (seed, i) and changes little with the number of
// steps. η (default 1) scales the noise; s_noise multiplies it.
torch::Tensor sample_dpm_2_ancestral(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                     const SamplerOptions& options, const StepCallback& callback = {});
// iPNDM: Adams–Bashforth 4 with equal-step coefficients (second order on uneven levels).
torch::Tensor sample_ipndm(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                           const SamplerOptions& options, const StepCallback& callback = {});
// RES multistep: second-order exponential Adams–Bashforth in λ = −ln σ.
torch::Tensor sample_res_multistep(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                   const SamplerOptions& options, const StepCallback& callback = {});
// LCM: D(x; σ), then renoised to σ_next; for distilled and consistency models.
torch::Tensor sample_lcm(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                         const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_dpmpp_2s_ancestral(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                        const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_dpmpp_sde(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                               const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_dpmpp_2m_sde(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                  const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_dpmpp_2m_sde_heun(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                       const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_dpmpp_3m_sde(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                  const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_dpmpp_2m(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                              const SamplerOptions& options, const StepCallback& callback = {});
// iPNDM-v: iPNDM with the variable-step coefficients (Adams–Bashforth's, as lms), and the
// denoised estimate as its step to σ = 0.
torch::Tensor sample_ipndm_v(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                             const SamplerOptions& options, const StepCallback& callback = {});
// DEIS (tAB): an exponential integrator with ε extrapolated as a polynomial in the VP time.
torch::Tensor sample_deis(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                          const SamplerOptions& options, const StepCallback& callback = {});
// UniPC: multistep predictor–corrector of order up to 4 (--order 3 with its corrector; the
// default 2 makes 3), one evaluation per step.
torch::Tensor sample_unipc(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                           const SamplerOptions& options, const StepCallback& callback = {});
// DPM-Solver-3 steps evenly spaced in λ = −ln σ, within the schedule's number of evaluations.
torch::Tensor sample_dpm_fast(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                              const SamplerOptions& options, const StepCallback& callback = {});
// DPM-Solver-3 with an embedded DPM-Solver-2 error estimate, each example its own step.
torch::Tensor sample_dpm_adaptive(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                  const SamplerOptions& options, const StepCallback& callback = {});
// Adaptive Dormand–Prince 5(4) in t = ln σ from σ_0 to the last nonzero σ, each example
// with its own step size (Hairer's controller), then, when the schedule ends at 0, one
// denoising step to σ = 0. Only the schedule's endpoints matter. That last step is the
// convention of EDM's samplers, not the ODE's limit: for Gaussian data of scale s it scales
// by s²/(s² + σ_end²) where the ODE scales by s/√(s² + σ_end²) — a relative bias of
// 1 − s/√(s² + σ_end²), 2e-4 at s = 0.1 and σ_end = 0.002, below any data's resolution.
torch::Tensor sample_rk45(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                          const SamplerOptions& options, const StepCallback& callback = {});

// CFG++ (Chung et al. 2024): Euler (and its ancestral form, η default 1) with the guided
// estimate as the step's target and the unconditional one as its noise direction,
// x_next = D_w + σ_next·(x − D_u)/σ. Without guidance they are euler and euler_ancestral.
// The paper's guidance scales are small (w in [0, 1]; 0 is the unconditional model).
torch::Tensor sample_euler_cfg_pp(const GuidedDenoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                  const SamplerOptions& options, const StepCallback& callback = {});
torch::Tensor sample_euler_ancestral_cfg_pp(const GuidedDenoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                            const SamplerOptions& options, const StepCallback& callback = {});

// Every sampler by name, and the settings of SamplerOptions it reads beyond the schedule;
// asking another sampler for one is a usage error (sample_diffusion's --churn with dpmpp_2m).
struct SamplerSetting {
  static constexpr unsigned churn = 1;      // s_churn, s_tmin, s_tmax
  static constexpr unsigned eta = 2;        // η
  static constexpr unsigned noise = 4;      // s_noise
  static constexpr unsigned tolerance = 8;  // rtol, atol
  static constexpr unsigned order = 16;     // order
  static constexpr unsigned variant = 32;   // variant
};
struct SamplerKind {
  SamplerKind(Sampler sample, unsigned settings, int64_t evaluations = 1, GuidedSampler guided = {})
      : sample(std::move(sample)), settings(settings), evaluations(evaluations), guided(std::move(guided)) {}
  Sampler sample;
  unsigned settings;  // SamplerSetting bits
  // Network evaluations per step: 1, or 2 (the last step, to σ = 0, then takes 1); 0 for the
  // adaptive samplers, whose evaluations follow their tolerance.
  int64_t evaluations;
  GuidedSampler guided;  // for the samplers that read the unconditional estimate (CFG++)
};
// The most steps of a fixed-step sampler within `nfe` network evaluations (on a schedule
// that ends at 0); an adaptive sampler, or fewer evaluations than one step takes, is a
// usage error.
int64_t steps_within(const std::string& sampler, int64_t nfe);
// Runs a sampler on a guided denoiser: CFG++ reads both estimates, the others the guided one.
torch::Tensor run_sampler(const SamplerKind& kind, const GuidedDenoiser& model, torch::Tensor x,
                          const torch::Tensor& sigmas, const SamplerOptions& options,
                          const StepCallback& callback = {});
const Catalogue<SamplerKind>& samplers();
// The samplers that read a setting, in the catalogue's order.
std::vector<std::string> samplers_taking(unsigned setting);
Sampler find_sampler(const std::string& name);

// `model` (a Denoiser or GuidedDenoiser), counting its network evaluations (NFE) in `calls`,
// which must outlive the result.
template <class D>
D counted(D model, int64_t& calls) {
  return [model = std::move(model), &calls](const torch::Tensor& x, const torch::Tensor& sigma) {
    ++calls;
    return model(x, sigma);
  };
}

}  // namespace zoo::diffusion
