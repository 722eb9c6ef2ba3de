#include "models/diffusion/samplers.h"

#include <cmath>
#include <map>

#include "core/error.h"
#include "core/seed.h"
#include "models/diffusion/sampler_steps.h"

namespace zoo::diffusion {

using namespace steps;

namespace {

// Fresh N(0, I) for step `step`, drawn per example (see SamplerOptions::seed).
torch::Tensor noise(const torch::Tensor& x, const SamplerOptions& o, int64_t step) {
  const uint64_t seed = derive_seed(o.seed, static_cast<uint64_t>(Stream::noise), static_cast<uint64_t>(step));
  return per_sample_randn(x.sizes(), seed, Stream::noise, o.first_index, x.device()).to(x.scalar_type());
}

// One Heun step of the ODE from σ to σ_next given D(x; σ); Euler when σ_next = 0.
torch::Tensor heun_step(const Denoiser& model, const torch::Tensor& x, const torch::Tensor& denoised, double sigma,
                        double next) {
  const torch::Tensor d = (x - denoised) / sigma;
  const torch::Tensor euler = x + d * (next - sigma);
  if (next == 0) return euler;
  const torch::Tensor d_next = (euler - denoised_at(model, euler, next)) / next;
  return x + 0.5 * (d + d_next) * (next - sigma);
}

}  // namespace

torch::Tensor sample_euler(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions&,
                           const StepCallback& callback) {
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    const torch::Tensor d = (x - denoised) / sigma;
    x = x + d * (next - sigma);
  }
  return x;
}

// EDM Algorithm 1: Heun's second-order method, Euler on the last step (NFE = 2N − 1).
torch::Tensor sample_heun(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions&,
                          const StepCallback& callback) {
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    x = heun_step(model, x, denoised, sigma, next);
  }
  return x;
}

// EDM Algorithm 2: raise the noise level from σ to σ̂ = σ(1 + γ) by adding fresh noise
// ("churn"), then take the Heun step from σ̂.
torch::Tensor sample_edm(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions& o,
                         const StepCallback& callback) {
  const int64_t n = steps_of(sigmas);
  for (int64_t i = 0; i < n; ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const double gamma = (o.s_tmin <= sigma && sigma <= o.s_tmax)
                             ? std::min(o.s_churn / static_cast<double>(n), std::sqrt(2.0) - 1)
                             : 0.0;
    const double sigma_hat = sigma * (1 + gamma);
    if (gamma > 0) x = x + std::sqrt(sigma_hat * sigma_hat - sigma * sigma) * o.s_noise * noise(x, o, i);
    const torch::Tensor denoised = denoised_at(model, x, sigma_hat);
    report(callback, i, sigma_hat, next, x, denoised);
    x = heun_step(model, x, denoised, sigma_hat, next);
  }
  return x;
}

GuidedDenoiser unguided(Denoiser model) {
  return [model = std::move(model)](const torch::Tensor& x, const torch::Tensor& sigma) {
    return Guided{model(x, sigma), {}};
  };
}

namespace {

// The ancestral step with noise scale η: DDIM (Song et al. 2021) written in the EDM frame,
// x_next = D + √(σ_next² − c²)·ε̂ + c·z with ε̂ = (x − D)/σ and c = η·σ_next·√(1 − σ_next²/σ²),
// is exactly this step, so euler_ancestral and ddim share it and differ in their η. CFG++
// takes ε̂ from the unconditional estimate D_u instead: the step from x is then the same
// with D_u, plus D − D_u.
torch::Tensor sample_ancestral(const GuidedDenoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                               const SamplerOptions& o, const StepCallback& callback, double eta, bool cfg_pp) {
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const Guided estimate = model(x, per_example(x, sigma));
    const torch::Tensor& denoised = estimate.denoised;
    report(callback, i, sigma, next, x, denoised);
    const auto [down, up] = ancestral_step(sigma, next, eta);
    const bool split = cfg_pp && estimate.unconditional.defined();
    const torch::Tensor& direction = split ? estimate.unconditional : denoised;
    x = x + (x - direction) / sigma * (down - sigma);
    if (split) x = x + (denoised - direction);
    if (up > 0) x = x + noise(x, o, i) * up;
  }
  return x;
}

}  // namespace

torch::Tensor sample_euler_ancestral(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                     const SamplerOptions& o, const StepCallback& callback) {
  return sample_ancestral(unguided(model), std::move(x), sigmas, o, callback, o.eta.value_or(1), false);
}

torch::Tensor sample_euler_cfg_pp(const GuidedDenoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                  const SamplerOptions& o, const StepCallback& callback) {
  return sample_ancestral(model, std::move(x), sigmas, o, callback, 0, true);
}

torch::Tensor sample_euler_ancestral_cfg_pp(const GuidedDenoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                            const SamplerOptions& o, const StepCallback& callback) {
  return sample_ancestral(model, std::move(x), sigmas, o, callback, o.eta.value_or(1), true);
}

// η = 0 by default: deterministic DDIM, which equals Euler here.
torch::Tensor sample_ddim(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions& o,
                          const StepCallback& callback) {
  return sample_ancestral(unguided(model), std::move(x), sigmas, o, callback, o.eta.value_or(0), false);
}

// DPM-Solver-2 as k-diffusion writes it (Karras et al.'s "DPM2"): an Euler step to the
// geometric midpoint of σ and σ_next, and the step taken with the midpoint's slope; the last
// step to σ = 0 is Euler.
torch::Tensor sample_dpm_2(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions&,
                           const StepCallback& callback) {
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    const torch::Tensor d = (x - denoised) / sigma;
    if (next == 0) {
      x = x + d * (next - sigma);
      continue;
    }
    const double mid = std::sqrt(sigma * next);
    const torch::Tensor x_mid = x + d * (mid - sigma);
    const torch::Tensor d_mid = (x_mid - denoised_at(model, x_mid, mid)) / mid;
    x = x + d_mid * (next - sigma);
  }
  return x;
}

// DPM2 with ancestral noise: the midpoint step down to σ_down, then σ_up of noise.
torch::Tensor sample_dpm_2_ancestral(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                     const SamplerOptions& o, const StepCallback& callback) {
  const LevelNoise level_noise(x, sigmas, o);
  const double eta = o.eta.value_or(1);
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    const auto [down, up] = ancestral_step(sigma, next, eta);
    const torch::Tensor d = (x - denoised) / sigma;
    if (down == 0) {
      x = x + d * (down - sigma);
      continue;
    }
    const double mid = std::sqrt(sigma * down);
    const torch::Tensor x_mid = x + d * (mid - sigma);
    const torch::Tensor d_mid = (x_mid - denoised_at(model, x_mid, mid)) / mid;
    x = x + d_mid * (down - sigma);
    if (up > 0) x = x + level_noise(sigma, next) * (o.s_noise * up);
  }
  return x;
}

// The multistep sampler of latent consistency models (Luo et al. 2023), for distilled and
// consistency models that predict the data in one evaluation: jump to D(x; σ), then renoise
// to the next level, x = D + σ_next·ξ, with ξ from the sample's Brownian path.
torch::Tensor sample_lcm(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions& o,
                         const StepCallback& callback) {
  const LevelNoise level_noise(x, sigmas, o);
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    x = next > 0 ? denoised + level_noise(sigma, next) * next : denoised;
  }
  return x;
}

// DPM-Solver++(2S) with ancestral noise (k-diffusion's sample_dpmpp_2s_ancestral): a
// single-step second-order exponential integrator in λ = −ln σ down to σ_down, through the
// midpoint in λ, then σ_up of noise.
torch::Tensor sample_dpmpp_2s_ancestral(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                        const SamplerOptions& o, const StepCallback& callback) {
  const LevelNoise level_noise(x, sigmas, o);
  const double eta = o.eta.value_or(1);
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    const auto [down, up] = ancestral_step(sigma, next, eta);
    if (down == 0) {
      x = x + (x - denoised) / sigma * (down - sigma);
    } else {
      const double h = std::log(sigma) - std::log(down), mid = std::sqrt(sigma * down);
      const torch::Tensor x_mid = (mid / sigma) * x - std::expm1(-0.5 * h) * denoised;
      x = (down / sigma) * x - std::expm1(-h) * denoised_at(model, x_mid, mid);
    }
    if (next > 0 && up > 0) x = x + level_noise(sigma, next) * (o.s_noise * up);
  }
  return x;
}

// DPM-Solver++ SDE (k-diffusion's sample_dpmpp_sde, r = ½): two ancestral substeps of the
// exponential integrator, to the midpoint in λ and to σ_next, the second with the midpoint's
// denoised estimate (k-diffusion's blend (1 − 1/2r)·D + (1/2r)·D_mid at r = ½); both draw from
// the same Brownian path.
torch::Tensor sample_dpmpp_sde(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                               const SamplerOptions& o, const StepCallback& callback) {
  const LevelNoise level_noise(x, sigmas, o);
  const double eta = o.eta.value_or(1);
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    if (next == 0) {
      x = x + (x - denoised) / sigma * (next - sigma);
      continue;
    }
    const double mid = std::sqrt(sigma * next);
    const auto [down_1, up_1] = ancestral_step(sigma, mid, eta);
    torch::Tensor x_mid = (down_1 / sigma) * x - std::expm1(std::log(down_1) - std::log(sigma)) * denoised;
    if (up_1 > 0) x_mid = x_mid + level_noise(sigma, mid) * (o.s_noise * up_1);
    const torch::Tensor denoised_mid = denoised_at(model, x_mid, mid);
    const auto [down, up] = ancestral_step(sigma, next, eta);
    x = (down / sigma) * x - std::expm1(std::log(down) - std::log(sigma)) * denoised_mid;
    if (up > 0) x = x + level_noise(sigma, next) * (o.s_noise * up);
  }
  return x;
}

namespace {

// DPM-Solver++(2M) SDE (Lu et al. 2022; k-diffusion's sample_dpmpp_2m_sde) in λ = −ln σ:
// the data-prediction exponential integrator with η·h of each step given to noise, and a
// second-order correction from the previous denoised estimate, midpoint or Heun style.
torch::Tensor dpmpp_2m_sde(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions& o,
                           const StepCallback& callback, bool heun) {
  const LevelNoise level_noise(x, sigmas, o);
  const double eta = o.eta.value_or(1);
  torch::Tensor previous;
  double h_last = 0;
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    if (next == 0) {
      x = denoised;
    } else {
      const double h = std::log(sigma) - std::log(next), eta_h = eta * h;
      const double decay = -std::expm1(-h - eta_h);  // 1 − e^{−(1 + η)h}
      x = (next / sigma) * std::exp(-eta_h) * x + decay * denoised;
      if (previous.defined()) {
        // With H = (1 + η)h: midpoint ½(1 − e^{−H}), Heun 1 − (1 − e^{−H})/H.
        const double c = heun ? 1 - decay / (h + eta_h) : 0.5 * decay;
        x = x + (c * h / h_last) * (denoised - previous);
      }
      if (eta > 0) x = x + level_noise(sigma, next) * (next * std::sqrt(-std::expm1(-2 * eta_h)) * o.s_noise);
      h_last = h;
    }
    previous = denoised;
  }
  return x;
}

}  // namespace

torch::Tensor sample_dpmpp_2m_sde(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                  const SamplerOptions& o, const StepCallback& callback) {
  return dpmpp_2m_sde(model, std::move(x), sigmas, o, callback, /*heun=*/false);
}

torch::Tensor sample_dpmpp_2m_sde_heun(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                       const SamplerOptions& o, const StepCallback& callback) {
  return dpmpp_2m_sde(model, std::move(x), sigmas, o, callback, /*heun=*/true);
}

// DPM-Solver++(3M) SDE (k-diffusion's sample_dpmpp_3m_sde): the same integrator with first
// and second differences of the last three denoised estimates.
torch::Tensor sample_dpmpp_3m_sde(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                  const SamplerOptions& o, const StepCallback& callback) {
  const LevelNoise level_noise(x, sigmas, o);
  const double eta = o.eta.value_or(1);
  torch::Tensor denoised_1, denoised_2;  // the previous two estimates
  double h_1 = 0, h_2 = 0;               // and their steps
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    double h = 0;
    if (next == 0) {
      x = denoised;
    } else {
      h = std::log(sigma) - std::log(next);
      const double h_eta = h * (eta + 1);
      x = std::exp(-h_eta) * x - std::expm1(-h_eta) * denoised;
      const double phi_2 = std::expm1(-h_eta) / h_eta + 1, phi_3 = phi_2 / h_eta - 0.5;
      if (denoised_2.defined()) {
        const double r0 = h_1 / h, r1 = h_2 / h;
        const torch::Tensor d1_0 = (denoised - denoised_1) / r0, d1_1 = (denoised_1 - denoised_2) / r1;
        const torch::Tensor d1 = d1_0 + (d1_0 - d1_1) * (r0 / (r0 + r1)), d2 = (d1_0 - d1_1) / (r0 + r1);
        x = x + phi_2 * d1 - phi_3 * d2;
      } else if (denoised_1.defined()) {
        x = x + phi_2 * ((denoised - denoised_1) / (h_1 / h));
      }
      if (eta > 0) x = x + level_noise(sigma, next) * (next * std::sqrt(-std::expm1(-2 * h * eta)) * o.s_noise);
    }
    denoised_2 = denoised_1, denoised_1 = denoised;
    h_2 = h_1, h_1 = h;
  }
  return x;
}

namespace {

// A CFG++ sampler's entry: run on a plain denoiser, it has no unconditional estimate to read.
SamplerKind cfg_pp(const GuidedSampler& guided, unsigned settings) {
  const Sampler plain = [guided](const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                 const SamplerOptions& o, const StepCallback& callback) {
    return guided(unguided(model), std::move(x), sigmas, o, callback);
  };
  return {plain, settings, 1, guided};
}

}  // namespace

const Catalogue<SamplerKind>& samplers() {
  using S = SamplerSetting;
  const unsigned ancestral = S::eta | S::noise;
  static const Catalogue<SamplerKind> catalogue(
      "sampler", {{"euler", {sample_euler, 0}},
                  {"heun", {sample_heun, 0, 2}},
                  {"edm", {sample_edm, S::churn | S::noise, 2}},
                  {"euler_ancestral", {sample_euler_ancestral, ancestral}},
                  {"euler_cfg_pp", cfg_pp(sample_euler_cfg_pp, 0)},
                  {"euler_ancestral_cfg_pp", cfg_pp(sample_euler_ancestral_cfg_pp, ancestral)},
                  {"ddim", {sample_ddim, ancestral}},
                  {"dpm_2", {sample_dpm_2, 0, 2}},
                  {"lms", {sample_lms, S::order}},
                  {"dpm_2_ancestral", {sample_dpm_2_ancestral, ancestral, 2}},
                  {"dpmpp_2s_ancestral", {sample_dpmpp_2s_ancestral, ancestral, 2}},
                  {"dpmpp_sde", {sample_dpmpp_sde, ancestral, 2}},
                  {"dpmpp_2m", {sample_dpmpp_2m, 0}},
                  {"dpmpp_2m_sde", {sample_dpmpp_2m_sde, ancestral}},
                  {"dpmpp_2m_sde_heun", {sample_dpmpp_2m_sde_heun, ancestral}},
                  {"dpmpp_3m_sde", {sample_dpmpp_3m_sde, ancestral}},
                  {"ipndm", {sample_ipndm, S::order}},
                  {"ipndm_v", {sample_ipndm_v, S::order}},
                  {"deis", {sample_deis, S::order}},
                  {"unipc", {sample_unipc, S::order | S::variant}},
                  {"res_multistep", {sample_res_multistep, 0}},
                  {"dpm_fast", {sample_dpm_fast, 0}},
                  {"dpm_adaptive", {sample_dpm_adaptive, S::tolerance | S::order, 0}},
                  {"lcm", {sample_lcm, 0}},
                  {"rk45", {sample_rk45, S::tolerance, 0}}});
  return catalogue;
}

std::vector<std::string> samplers_taking(unsigned setting) {
  std::vector<std::string> names;
  for (const auto& entry : samplers().entries())
    if (entry.value.settings & setting) names.push_back(entry.name);
  return names;
}

Sampler find_sampler(const std::string& name) { return samplers().find(name).sample; }

int64_t steps_within(const std::string& sampler, int64_t nfe) {
  const int64_t evaluations = samplers().find(sampler).evaluations;
  if (evaluations == 0)
    throw Error(sampler + " is adaptive: its evaluations follow its tolerance, not a budget", ErrorKind::usage);
  // N steps take evaluations·N − (evaluations − 1): the last step, to σ = 0, takes one.
  const int64_t steps = (nfe + evaluations - 1) / evaluations;
  if (steps < 1) throw Error(sampler + " takes at least one network evaluation", ErrorKind::usage);
  return steps;
}

torch::Tensor run_sampler(const SamplerKind& kind, const GuidedDenoiser& model, torch::Tensor x,
                          const torch::Tensor& sigmas, const SamplerOptions& options, const StepCallback& callback) {
  if (kind.guided) return kind.guided(model, std::move(x), sigmas, options, callback);
  const Denoiser guided_only = [&](const torch::Tensor& xs, const torch::Tensor& sigma) {
    return model(xs, sigma).denoised;
  };
  return kind.sample(guided_only, std::move(x), sigmas, options, callback);
}

}  // namespace zoo::diffusion
