// Multistep samplers: each step reuses the denoised estimates (or slopes) of the steps
// before it, one network evaluation per step.
#include "models/diffusion/samplers.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "models/diffusion/precond.h"
#include "models/diffusion/sampler_steps.h"

namespace zoo::diffusion {

using namespace steps;

namespace {

// Gauss–Legendre nodes and weights on [−1, 1] (Newton's method on P_n), exact for
// polynomials of degree up to 2n − 1.
struct Quadrature {
  std::vector<double> nodes, weights;
  explicit Quadrature(int n) {
    for (int k = 1; k <= n; ++k) {
      double z = std::cos(M_PI * (k - 0.25) / (n + 0.5)), derivative = 0;
      for (int iteration = 0; iteration < 100; ++iteration) {
        double p = 1, p_before = 0;  // P_n(z) by the three-term recurrence
        for (int m = 1; m <= n; ++m) {
          const double p_next = ((2 * m - 1) * z * p - (m - 1) * p_before) / m;
          p_before = p;
          p = p_next;
        }
        derivative = n * (z * p - p_before) / (z * z - 1);
        const double change = p / derivative;
        z -= change;
        if (std::abs(change) < 1e-15) break;
      }
      nodes.push_back(z);
      weights.push_back(2 / ((1 - z * z) * derivative * derivative));
    }
  }
};

// The variable-step Adams–Bashforth weights of a step σ_i → σ_{i+1} whose slopes are
// extrapolated as a polynomial in `time` through the last `order` levels: w_j = ∫ L_j(time(σ)) dσ
// over the step, L_j the Lagrange basis polynomial of level i − j. With time = σ this is
// k-diffusion's lms (the integrand a polynomial, integrated exactly); DEIS takes the VP time.
std::vector<double> adams_weights(const std::function<double(double)>& time, const torch::Tensor& sigmas, int64_t i,
                                  int64_t order) {
  static const Quadrature quadrature(16);
  std::vector<double> nodes;
  for (int64_t j = 0; j < order; ++j) nodes.push_back(time(at(sigmas, i - j)));
  const double from = at(sigmas, i), to = at(sigmas, i + 1), half = (to - from) / 2;
  std::vector<double> weights(static_cast<size_t>(order), 0.0);
  for (size_t q = 0; q < quadrature.nodes.size(); ++q) {
    const double u = time(from + half * (quadrature.nodes[q] + 1));
    for (size_t j = 0; j < nodes.size(); ++j) {
      double basis = 1;
      for (size_t k = 0; k < nodes.size(); ++k)
        if (k != j) basis *= (u - nodes[k]) / (nodes[j] - nodes[k]);
      weights[j] += half * quadrature.weights[q] * basis;
    }
  }
  return weights;
}

// The multistep method x_{i+1} = x_i + Σ_j w_j·d_{i−j} on the slopes d = (x − D)/σ, starting
// at order 1 and rising to `order`. A step to σ = 0 is either a step of the method (lms) or
// the denoised estimate (ipndm_v and deis, as k-diffusion's: it is Euler's step there).
torch::Tensor adams_bashforth(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                              const StepCallback& callback, int64_t order, const std::function<double(double)>& time,
                              bool denoise_last) {
  std::vector<torch::Tensor> slopes;  // newest last
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    slopes.push_back((x - denoised) / sigma);
    if (static_cast<int64_t>(slopes.size()) > order) slopes.erase(slopes.begin());
    if (next == 0 && denoise_last) return denoised;
    const std::vector<double> weights = adams_weights(time, sigmas, i, static_cast<int64_t>(slopes.size()));
    for (size_t j = 0; j < weights.size(); ++j) x = x + weights[j] * slopes[slopes.size() - 1 - j];
  }
  return x;
}

double identity(double sigma) { return sigma; }

}  // namespace

// Linear multistep (k-diffusion's lms): Adams–Bashforth of order 4 (--order 1–4) on the
// schedule's own, uneven steps, starting at orders 1, 2, 3. One evaluation per step.
torch::Tensor sample_lms(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions& o,
                         const StepCallback& callback) {
  return adams_bashforth(model, std::move(x), sigmas, callback, order_of(o, "lms", 1, 4, 4), identity, false);
}

// iPNDM-v (k-diffusion's sample_ipndm_v): iPNDM with the coefficients of the schedule's own
// variable steps, which are Adams–Bashforth's, in σ; the last step, to σ = 0, is the
// denoised estimate.
torch::Tensor sample_ipndm_v(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas,
                             const SamplerOptions& o, const StepCallback& callback) {
  return adams_bashforth(model, std::move(x), sigmas, callback, order_of(o, "ipndm_v", 1, 4, 4), identity, true);
}

// DEIS (Zhang & Chen 2023), its tAB form as k-diffusion's sample_deis: the exponential
// integrator of the probability-flow ODE with ε = (x − D)/σ extrapolated as a polynomial in
// the VP time t (β_d = 19.9, β_min = 0.1, Song et al.'s VP SDE), where ε varies more evenly
// than in σ. In the EDM frame the integrator's linear part vanishes and the step is
// x_{i+1} = x_i + Σ_j ε_{i−j}·∫ L_j(t(σ)) dσ over the step.
torch::Tensor sample_deis(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions& o,
                          const StepCallback& callback) {
  const PrecondOptions vp;  // its β_d and β_min
  const auto vp_time = [&](double sigma) {
    return vp_sigma_inverse(vp, torch::tensor(sigma, torch::kDouble)).item<double>();
  };
  return adams_bashforth(model, std::move(x), sigmas, callback, order_of(o, "deis", 1, 3, 3), vp_time, true);
}

// iPNDM (Zhang & Chen 2023; k-diffusion's sample_ipndm): Adams–Bashforth of order up to 4
// with the fixed coefficients of equal steps, in σ. On the uneven levels of a karras
// schedule, and after its Euler first step, it converges at second order (measured); lms is
// the variable-step method of order 4.
torch::Tensor sample_ipndm(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions& o,
                           const StepCallback& callback) {
  const size_t history = static_cast<size_t>(order_of(o, "ipndm", 1, 4, 4) - 1);
  std::vector<torch::Tensor> slopes;  // newest last, at most `history` before the current
  for (int64_t i = 0; i < steps_of(sigmas); ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    const torch::Tensor denoised = denoised_at(model, x, sigma);
    report(callback, i, sigma, next, x, denoised);
    const torch::Tensor d = (x - denoised) / sigma;
    const auto back = [&](size_t k) { return slopes[slopes.size() - k]; };
    torch::Tensor slope;
    switch (std::min(slopes.size(), history)) {
      case 0: slope = d; break;
      case 1: slope = (3 * d - back(1)) / 2; break;
      case 2: slope = (23 * d - 16 * back(1) + 5 * back(2)) / 12; break;
      default: slope = (55 * d - 59 * back(1) + 37 * back(2) - 9 * back(3)) / 24; break;
    }
    x = x + slope * (next - sigma);
    slopes.push_back(d);
    if (slopes.size() > std::max<size_t>(history, 1)) slopes.erase(slopes.begin());
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

// UniPC's update from λ_s to λ_t = λ_s + h (Zhao et al. 2023, data prediction, α = 1): with
// m0 = D at λ_s and the differences D_k = (m_k − m0)/r_k of earlier (or later) estimates
// at λ_s + r_k·h,
//   x_t = e^{−h}·x_s + (1 − e^{−h})·m0 − B(h)·Σ_k ρ_k·D_k,
// where ρ solves R·ρ = b with R_{k,j} = r_j^(k−1) and b_k = k!·(−h)·φ_{k+1}(−h)/B(h), φ the
// exponential integrator's φ-functions, and B(h) = −h (bh1) or e^{−h} − 1 (bh2).
class UniUpdate {
 public:
  UniUpdate(double h, bool bh2) : h_(h) {
    const double hh = -h;
    b_h_ = bh2 ? std::expm1(hh) : hh;
    h_phi_1_ = std::expm1(hh);
    double h_phi_k = h_phi_1_ / hh - 1, factorial = 1;
    for (int k = 1; k <= 4; ++k) {
      b_.push_back(h_phi_k * factorial / b_h_);
      factorial *= k + 1;
      h_phi_k = h_phi_k / hh - 1 / factorial;
    }
  }

  // ρ for the places r (the last ones the highest powers), solving the first r.size() rows.
  std::vector<double> rho(const std::vector<double>& r) const {
    const auto n = static_cast<int64_t>(r.size());
    torch::Tensor matrix = torch::empty({n, n}, torch::kDouble), rhs = torch::empty({n}, torch::kDouble);
    for (int64_t k = 0; k < n; ++k) {
      rhs[k] = b_[static_cast<size_t>(k)];
      for (int64_t j = 0; j < n; ++j) matrix[k][j] = std::pow(r[static_cast<size_t>(j)], static_cast<double>(k));
    }
    const torch::Tensor solved = torch::linalg_solve(matrix, rhs);
    return std::vector<double>(solved.data_ptr<double>(), solved.data_ptr<double>() + n);
  }

  // x_t from x_s, m0 and the weighted differences Σ ρ_k·D_k.
  torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& m0, const torch::Tensor& correction) const {
    torch::Tensor out = std::exp(-h_) * x - h_phi_1_ * m0;
    return correction.defined() ? out - b_h_ * correction : out;
  }

 private:
  double h_, b_h_, h_phi_1_;
  std::vector<double> b_;
};

}  // namespace

// UniPC (Zhao et al. 2023): the multistep predictor UniP of order p, then, with the network's
// estimate at the predicted point (which the next step reuses, so one evaluation per step),
// the corrector UniC, which raises the step's order to p + 1. Orders start at 1 and rise to
// --order (1–3, default 2 as diffusers': on the toy checkerboard at 10 NFE order 3 was worse);
// --variant bh1 or bh2 (default) picks B(h). As the published code:
// a second-order predictor, and a first-order corrector, take ρ = ½, and on schedules of
// fewer than 15 steps the last steps lower their order to the steps left (DPM-Solver's
// lower_order_final: high-order extrapolation over the large last steps in λ of a short
// karras schedule is unstable — at 10 steps on the toy checkerboard it doubled the sliced
// Wasserstein distance of 2M's). The last step to a
// positive σ is not corrected (that would cost an evaluation); a step to σ = 0 is the
// denoised estimate.
torch::Tensor sample_unipc(const Denoiser& model, torch::Tensor x, const torch::Tensor& sigmas, const SamplerOptions& o,
                           const StepCallback& callback) {
  const int64_t max_order = order_of(o, "unipc", 1, 3, 2);
  const std::string variant = o.variant.empty() ? "bh2" : o.variant;
  if (variant != "bh1" && variant != "bh2")
    throw Error("--variant " + variant + ": unipc takes bh1 or bh2", ErrorKind::usage);
  const int64_t n = steps_of(sigmas);
  std::vector<torch::Tensor> estimates;  // D at the levels so far, newest last
  std::vector<double> lambdas;           // their −ln σ
  torch::Tensor denoised = denoised_at(model, x, at(sigmas, 0));
  for (int64_t i = 0; i < n; ++i) {
    const double sigma = at(sigmas, i), next = at(sigmas, i + 1);
    report(callback, i, sigma, next, x, denoised);
    if (next == 0) return denoised;
    estimates.push_back(denoised);
    lambdas.push_back(-std::log(sigma));
    int64_t order = std::min<int64_t>(max_order, static_cast<int64_t>(estimates.size()));
    if (n < 15) order = std::min(order, n - i);  // lower orders at the end of a short schedule
    const double h = std::log(sigma) - std::log(next);
    const UniUpdate update(h, variant == "bh2");
    // Places and differences of the earlier estimates, nearest first.
    std::vector<double> r;
    std::vector<torch::Tensor> differences;
    for (int64_t k = 1; k < order; ++k) {
      const size_t back = estimates.size() - 1 - static_cast<size_t>(k);
      r.push_back((lambdas[back] - lambdas.back()) / h);
      differences.push_back((estimates[back] - denoised) / r.back());
    }
    const auto weighted = [&](const std::vector<double>& rho, size_t count) {
      torch::Tensor sum;
      for (size_t k = 0; k < count; ++k) sum = sum.defined() ? sum + rho[k] * differences[k] : rho[k] * differences[k];
      return sum;
    };
    const std::vector<double> rho_p = order == 1   ? std::vector<double>{}
                                      : order == 2 ? std::vector<double>{0.5}
                                                   : update.rho(r);
    const torch::Tensor predicted = update.apply(x, denoised, weighted(rho_p, r.size()));
    if (i + 1 == n) return predicted;
    const torch::Tensor denoised_next = denoised_at(model, predicted, next);
    r.push_back(1.0);
    const std::vector<double> rho_c = order == 1 ? std::vector<double>{0.5} : update.rho(r);
    torch::Tensor correction = rho_c.back() * (denoised_next - denoised);
    if (!differences.empty()) correction = correction + weighted(rho_c, differences.size());
    x = update.apply(x, denoised, correction);
    denoised = denoised_next;
  }
  return x;
}

}  // namespace zoo::diffusion
