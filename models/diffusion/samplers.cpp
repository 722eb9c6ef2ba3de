#include "models/diffusion/samplers.h"

#include <cmath>
#include <map>

#include "core/error.h"
#include "core/seed.h"
#include "models/diffusion/brownian_tree.h"

namespace zoo::diffusion {

namespace {

double at(const torch::Tensor& sigmas, int64_t i) { return sigmas[i].item<double>(); }

torch::Tensor per_example(const torch::Tensor& x, double sigma) {
  return torch::full({x.size(0)}, sigma, torch::TensorOptions().dtype(torch::kDouble).device(x.device()));
}

torch::Tensor denoised_at(const Denoiser& model, const torch::Tensor& x, double sigma) {
  return model(x, per_example(x, sigma));
}

// Fresh N(0, I) for step `step`, drawn per example (see SamplerOptions::seed).
torch::Tensor noise(const torch::Tensor& x, const SamplerOptions& o, int64_t step) {
  const uint64_t seed = derive_seed(o.seed, static_cast<uint64_t>(Stream::noise), static_cast<uint64_t>(step));
  return per_sample_randn(x.sizes(), seed, Stream::noise, o.first_index, x.device()).to(x.scalar_type());
}

void report(const StepCallback& callback, int64_t i, double sigma, double next, const torch::Tensor& x,
            const torch::Tensor& denoised) {
  if (callback) callback({i, sigma, next, x, denoised});
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

// The ancestral split of a step σ → σ_next: go down deterministically to σ_down, then add
// noise σ_up, with σ_down² + σ_up² = σ_next² (η scales the noise).
std::pair<double, double> ancestral_step(double sigma, double next, double eta) {
  if (next == 0) return {0.0, 0.0};
  const double up = std::min(next, eta * std::sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma)));
  return {std::sqrt(next * next - up * up), up};
}

int64_t steps_of(const torch::Tensor& sigmas) {
  if (sigmas.dim() != 1 || sigmas.size(0) < 2) throw Error("a schedule needs at least one step", ErrorKind::usage);
  return sigmas.size(0) - 1;
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

namespace {

// The ancestral step with noise scale η: DDIM (Song et al. 2021) written in the EDM frame,
// x_next = D + √(σ_next² − c²)·ε̂ + c·z with ε̂ = (x − D)/σ and c = η·σ_next·√(1 − σ_next²/σ²),
// is exactly this step, so euler_ancestral and ddim share it and differ in their η.
torch::Tensor sample_ancestral(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                               const SamplerOptions& o, const StepCallback& callback, double eta) {
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    const auto [down, up] = ancestral_step(sigma, next, eta);
    x = x + (x - denoised) / sigma * (down - sigma);
    if (up > 0) x = x + noise(x, o, i) * up;
  }
  return x;
}

}  // namespace

torch::Tensor sample_euler_ancestral(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                     const SamplerOptions& o, const StepCallback& callback) {
  return sample_ancestral(model, std::move(x), sigmas, o, callback, o.eta.value_or(1));
}

// η = 0 by default: deterministic DDIM, which equals Euler here.
torch::Tensor sample_ddim(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions& o,
                          const StepCallback& callback) {
  return sample_ancestral(model, std::move(x), sigmas, o, callback, o.eta.value_or(0));
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

namespace {

// ∫ from σ_i to σ_{i+1} of the Lagrange basis polynomial of node σ_{i−j} over the nodes
// σ_i, …, σ_{i−order+1}: the weight of the slope at σ_{i−j} in a variable-step Adams–Bashforth
// step. Integrated exactly, in u = τ − σ_i (small numbers near the step).
double multistep_weight(const torch::Tensor& sigmas, int64_t i, int64_t order, int64_t j) {
  std::vector<double> poly{1.0};  // coefficients in u, lowest first
  const double node_j = at(sigmas, i - j) - at(sigmas, i);
  for (int64_t k = 0; k < order; ++k) {
    if (k == j) continue;
    const double node_k = at(sigmas, i - k) - at(sigmas, i), scale = 1 / (node_j - node_k);
    std::vector<double> next(poly.size() + 1, 0.0);  // poly·(u − node_k)·scale
    for (size_t m = 0; m < poly.size(); ++m) {
      next[m + 1] += poly[m] * scale;
      next[m] -= poly[m] * node_k * scale;
    }
    poly = std::move(next);
  }
  const double h = at(sigmas, i + 1) - at(sigmas, i);
  double integral = 0, power = h;
  for (size_t m = 0; m < poly.size(); ++m, power *= h) integral += poly[m] * power / static_cast<double>(m + 1);
  return integral;
}

}  // namespace

// Linear multistep (k-diffusion's lms): Adams–Bashforth of order 4 on the schedule's own,
// uneven steps, starting at orders 1, 2, 3. One evaluation per step.
torch::Tensor sample_lms(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions&,
                         const StepCallback& callback) {
  constexpr int64_t kOrder = 4;
  std::vector<torch::Tensor> slopes;  // newest last
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    slopes.push_back((x - denoised) / sigma);
    if (static_cast<int64_t>(slopes.size()) > kOrder) slopes.erase(slopes.begin());
    const int64_t order = static_cast<int64_t>(slopes.size());
    for (int64_t j = 0; j < order; ++j)
      x = x + multistep_weight(sigmas, i, order, j) * slopes[static_cast<size_t>(order - 1 - j)];
  }
  return x;
}

namespace {

// The Brownian motion an SDE sampler draws its noise from, in t = ln σ over the schedule's
// positive levels (k-diffusion's BrownianTreeNoiseSampler with a log transform): its dyadic
// resolution is then as fine near σ_min as near σ_max.
class LevelNoise {
 public:
  LevelNoise(const torch::Tensor& x, const torch::Tensor& sigmas, const SamplerOptions& o)
      : tree_(x.sizes().vec(), std::log(sigmas.masked_select(sigmas > 0).min().item<double>()),
              std::log(sigmas.max().item<double>()), o.seed, o.first_index, x.options()) {}
  // Standard normal noise for the step σ → σ_next (both positive).
  torch::Tensor operator()(double sigma, double next) const { return tree_.noise(std::log(sigma), std::log(next)); }

 private:
  BrownianTree tree_;
};

}  // namespace

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

// iPNDM (Zhang & Chen 2023; k-diffusion's sample_ipndm): Adams–Bashforth of order up to 4
// with the fixed coefficients of equal steps, in σ. On the uneven levels of a karras
// schedule, and after its Euler first step, it converges at second order (measured); lms is
// the variable-step method of order 4.
torch::Tensor sample_ipndm(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions&,
                           const StepCallback& callback) {
  std::vector<torch::Tensor> slopes;  // newest last, at most 3 before the current
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    const torch::Tensor d = (x - denoised) / sigma;
    const auto back = [&](size_t k) { return slopes[slopes.size() - k]; };
    torch::Tensor slope;
    switch (slopes.size()) {
      case 0: slope = d; break;
      case 1: slope = (3 * d - back(1)) / 2; break;
      case 2: slope = (23 * d - 16 * back(1) + 5 * back(2)) / 12; break;
      default: slope = (55 * d - 59 * back(1) + 37 * back(2) - 9 * back(3)) / 24; break;
    }
    x = x + slope * (next - sigma);
    slopes.push_back(d);
    if (slopes.size() > 3) slopes.erase(slopes.begin());
  }
  return x;
}

// RES multistep (ComfyUI's sample_res_multistep, η = 0): the second-order exponential
// Adams–Bashforth step in λ = −ln σ, x_next = e^{−h}·x + h·(b₁·D + b₂·D_prev) with
// b₁ = φ₁(−h) − φ₂(−h)/c, b₂ = φ₂(−h)/c, c = −h_prev/h the previous node's place; the first
// step is Euler and the last, to σ = 0, the denoised estimate.
torch::Tensor sample_res_multistep(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                                   const SamplerOptions&, const StepCallback& callback) {
  const auto phi_1 = [](double t) { return std::expm1(t) / t; };
  const auto phi_2 = [&](double t) { return (phi_1(t) - 1) / t; };
  torch::Tensor previous;
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    if (next == 0) {
      x = denoised;
    } else if (!previous.defined()) {
      x = x + (x - denoised) / sigma * (next - sigma);
    } else {
      const double h = std::log(sigma) - std::log(next), c = -(std::log(at(sigmas, i - 1)) - std::log(sigma)) / h;
      const double b2 = phi_2(-h) / c, b1 = phi_1(-h) - b2;
      x = std::exp(-h) * x + h * (b1 * denoised + b2 * previous);
    }
    previous = denoised;
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

// DPM-Solver++(2M) (Lu et al. 2022) in λ = −ln σ: a second-order multistep method that
// reuses the previous step's denoised estimate.
torch::Tensor sample_dpmpp_2m(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                              const SamplerOptions&, const StepCallback& callback) {
  torch::Tensor previous;
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    if (next == 0) {
      x = denoised;
    } else {
      const double h = std::log(sigma) - std::log(next);  // λ_next − λ
      torch::Tensor estimate = denoised;
      if (previous.defined()) {
        const double r = (std::log(at(sigmas, i - 1)) - std::log(sigma)) / h;
        estimate = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * previous;
      }
      x = (next / sigma) * x - std::expm1(-h) * estimate;
    }
    previous = denoised;
  }
  return x;
}

namespace {

// Dormand–Prince 5(4) tableau.
constexpr double kC[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
constexpr double kA[7][6] = {{},
                             {1.0 / 5},
                             {3.0 / 40, 9.0 / 40},
                             {44.0 / 45, -56.0 / 15, 32.0 / 9},
                             {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
                             {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
                             {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
// Fifth-order weights are kA[6]; the embedded fourth-order ones:
constexpr double kB4[7] = {5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40};

}  // namespace

torch::Tensor sample_rk45(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions& o,
                          const StepCallback& callback) {
  const int64_t n = steps_of(sigmas);
  const double start = at(sigmas, 0), last = at(sigmas, n);
  const double end_sigma = last == 0 ? at(sigmas, n - 1) : last;
  if (!(o.rtol > 0) || !(o.atol > 0)) throw Error("rk45 needs positive rtol and atol", ErrorKind::usage);
  const int64_t batch = x.size(0);
  std::vector<int64_t> view(static_cast<size_t>(x.dim()), 1);
  view[0] = batch;
  const auto options = torch::TensorOptions().dtype(torch::kDouble).device(x.device());
  // The ODE in t = ln σ: dx/dt = σ·dx/dσ = x − D(x; σ). In σ its 1/σ makes a step that is
  // large against σ itself (near the end) far less accurate than the error estimate says:
  // stepping in σ left examples of 8-D Gaussian data up to 50x their tolerance from the exact
  // solution; in ln σ the worst is about 1x, with fewer steps.
  auto f = [&](const torch::Tensor& xs, const torch::Tensor& t) { return xs - model(xs, t.exp()); };
  const double end = std::log(end_sigma);
  torch::Tensor t = torch::full({batch}, std::log(start), options);
  torch::Tensor h = torch::full({batch}, (end - std::log(start)) / 20, options);  // negative: t decreases
  torch::Tensor k1 = f(x, t);
  torch::Tensor rejected = torch::zeros({batch}, options.dtype(torch::kBool));  // the row's last try failed
  int64_t step = 0;
  auto column = [&](const torch::Tensor& v) { return v.view(view).to(x.scalar_type()); };
  while ((t > end).any().item<bool>()) {
    const torch::Tensor active = t > end;
    h = torch::where(active, torch::maximum(h, end - t), torch::zeros_like(h));  // never step past the end
    std::vector<torch::Tensor> k{k1};
    for (int s = 1; s < 7; ++s) {
      torch::Tensor xs = x;
      for (int j = 0; j < s; ++j)
        if (kA[s][j] != 0) xs = xs + column(h * kA[s][j]) * k[static_cast<size_t>(j)];
      k.push_back(f(xs, t + kC[s] * h));
    }
    torch::Tensor x5 = x, x4 = x;
    for (int j = 0; j < 7; ++j) {
      if (j < 6 && kA[6][j] != 0) x5 = x5 + column(h * kA[6][j]) * k[static_cast<size_t>(j)];
      if (kB4[j] != 0) x4 = x4 + column(h * kB4[j]) * k[static_cast<size_t>(j)];
    }
    // Per-example RMS of the error relative to the tolerance; ≤ 1 accepts the step.
    const torch::Tensor scale = o.atol + o.rtol * torch::maximum(x.abs(), x5.abs());
    const torch::Tensor error = ((x5 - x4) / scale).square().flatten(1).mean(1).sqrt().to(torch::kDouble);
    const torch::Tensor accept = active & (error <= 1), accept_rows = accept.view(view);
    const double before = t.max().exp().item<double>();
    x = torch::where(accept_rows, x5, x);
    k1 = torch::where(accept_rows, k[6], k1);  // first-same-as-last: f at the new point
    t = torch::where(accept, t + h, t);
    // Hairer's controller for DOPRI5: safety 0.9, order 5, change limited to [0.2, 10], and
    // no growth in the step that follows a rejected one.
    torch::Tensor factor = (0.9 * error.clamp_min(1e-10).pow(-0.2)).clamp(0.2, 10);
    factor = torch::where(rejected, factor.clamp_max(1), factor);
    h = h * factor;
    rejected = active & ~accept;
    report(callback, step++, before, t.max().exp().item<double>(), x, x);
  }
  // σ = 0 is t = −∞, unreachable by stepping: finish with D(x; σ_end).
  return last == 0 ? model(x, torch::full({batch}, end_sigma, options)) : x;
}

const Catalogue<SamplerKind>& samplers() {
  using S = SamplerSetting;
  const unsigned ancestral = S::eta | S::noise;
  static const Catalogue<SamplerKind> catalogue("sampler",
                                                {{"euler", {sample_euler, 0}},
                                                 {"heun", {sample_heun, 0}},
                                                 {"edm", {sample_edm, S::churn | S::noise}},
                                                 {"euler_ancestral", {sample_euler_ancestral, ancestral}},
                                                 {"ddim", {sample_ddim, ancestral}},
                                                 {"dpm_2", {sample_dpm_2, 0}},
                                                 {"lms", {sample_lms, 0}},
                                                 {"dpm_2_ancestral", {sample_dpm_2_ancestral, ancestral}},
                                                 {"dpmpp_2s_ancestral", {sample_dpmpp_2s_ancestral, ancestral}},
                                                 {"dpmpp_sde", {sample_dpmpp_sde, ancestral}},
                                                 {"dpmpp_2m", {sample_dpmpp_2m, 0}},
                                                 {"dpmpp_2m_sde", {sample_dpmpp_2m_sde, ancestral}},
                                                 {"dpmpp_2m_sde_heun", {sample_dpmpp_2m_sde_heun, ancestral}},
                                                 {"dpmpp_3m_sde", {sample_dpmpp_3m_sde, ancestral}},
                                                 {"ipndm", {sample_ipndm, 0}},
                                                 {"res_multistep", {sample_res_multistep, 0}},
                                                 {"lcm", {sample_lcm, 0}},
                                                 {"rk45", {sample_rk45, S::tolerance}}});
  return catalogue;
}

std::vector<std::string> samplers_taking(unsigned setting) {
  std::vector<std::string> names;
  for (const auto& entry : samplers().entries())
    if (entry.value.settings & setting) names.push_back(entry.name);
  return names;
}

Sampler find_sampler(const std::string& name) { return samplers().find(name).sample; }

}  // namespace zoo::diffusion
