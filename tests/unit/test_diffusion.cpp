// Samplers checked against data whose ideal denoiser, and so whose probability-flow ODE
// solution, is known in closed form.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "models/diffusion/brownian_tree.h"
#include "models/diffusion/precond.h"
#include "models/diffusion/samplers.h"
#include "models/diffusion/schedule.h"
#include "support/test_support.h"

using namespace zoo::diffusion;

namespace {

constexpr double kMu = 0.3, kS = 0.5;  // data ~ N(μ, s²) in every coordinate

// Ideal denoiser for Gaussian data: E[x₀ | x] = (s²·x + σ²·μ)/(s² + σ²).
torch::Tensor gaussian_denoiser(const torch::Tensor& x, const torch::Tensor& sigma) {
  const torch::Tensor s2 = sigma.view({-1, 1}).square();
  return (kS * kS * x + s2 * kMu) / (kS * kS + s2);
}

// The ODE's exact solution: x(σ) = μ + (x(σ₀) − μ)·√(s² + σ²)/√(s² + σ₀²).
torch::Tensor exact(const torch::Tensor& x0, double sigma0, double sigma) {
  return kMu + (x0 - kMu) * std::sqrt(kS * kS + sigma * sigma) / std::sqrt(kS * kS + sigma0 * sigma0);
}

// The schedule without its final zero: the exact solution at σ_min has no 1/σ floor.
torch::Tensor levels(int64_t n) { return karras_sigmas(n, 0.002, 80, 7).slice(0, 0, n); }

double error_at(const std::string& sampler, int64_t n, const SamplerOptions& options = {}) {
  torch::manual_seed(0);
  const torch::Tensor x0 = 80 * torch::randn({8, 3}, torch::kDouble);
  const torch::Tensor out = find_sampler(sampler)(gaussian_denoiser, x0, levels(n), options, {});
  return (out - exact(x0, 80, 0.002)).abs().max().item<double>();
}

double observed_order(const std::string& sampler, int64_t n, const SamplerOptions& options = {}) {
  return std::log2(error_at(sampler, n, options) / error_at(sampler, 2 * n, options));
}

SamplerOptions with_order(int64_t order, const std::string& variant = "") {
  SamplerOptions options;
  options.order = order;
  options.variant = variant;
  return options;
}

}  // namespace

TEST(Schedule, KarrasMatchesItsFormula) {
  const torch::Tensor s = karras_sigmas(18, 0.002, 80, 7);
  ASSERT_EQ(s.size(0), 19);
  EXPECT_NEAR(s[0].item<double>(), 80, 1e-9);
  EXPECT_NEAR(s[17].item<double>(), 0.002, 1e-12);
  EXPECT_EQ(s[18].item<double>(), 0);
  const double i = 5, lo = std::pow(0.002, 1 / 7.0), hi = std::pow(80, 1 / 7.0);
  EXPECT_NEAR(s[5].item<double>(), std::pow(hi + i / 17 * (lo - hi), 7), 1e-9);
  EXPECT_TRUE((s.slice(0, 0, 18) > s.slice(0, 1, 19)).all().item<bool>());
}

TEST(Schedule, OtherSchedulesMatchTheirFormulas) {
  const torch::Tensor e = exponential_sigmas(5, 0.01, 100);
  EXPECT_NEAR(e[0].item<double>(), 100, 1e-9);
  EXPECT_NEAR(e[2].item<double>(), 1, 1e-9);  // geometric midpoint
  EXPECT_NEAR(e[4].item<double>(), 0.01, 1e-12);
  EXPECT_TRUE(torch::allclose(polyexponential_sigmas(5, 0.01, 100, 1), e));
  const torch::Tensor vp = vp_sigmas(3, 19.9, 0.1, 1e-3);
  EXPECT_NEAR(vp[0].item<double>(), std::sqrt(std::exp(0.5 * 19.9 + 0.1) - 1), 1e-9);
  EXPECT_NEAR(vp[2].item<double>(), std::sqrt(std::exp(0.5 * 19.9 * 1e-6 + 0.1 * 1e-3) - 1), 1e-12);
  const torch::Tensor rf = uniform_t_sigmas(4, 0.8);  // t = 0.8, 0.6, 0.4, 0.2, then 0
  EXPECT_TRUE(torch::allclose(rf, torch::tensor({4.0, 1.5, 2.0 / 3, 0.25, 0.0}, torch::kDouble)));
  ScheduleOptions bad;
  bad.name = "cosine";
  EXPECT_THROW(make_sigmas(bad), zoo::Error);
  bad.name = "karras";
  bad.steps = 0;
  EXPECT_THROW(make_sigmas(bad), zoo::Error);
}

TEST(Schedule, KlOptimalSgmUniformAndBetaMatchTheirFormulas) {
  const torch::Tensor kl = kl_optimal_sigmas(5, 0.002, 80);
  for (int64_t i = 0; i < 5; ++i) {
    const double r = static_cast<double>(i) / 4;
    EXPECT_NEAR(kl[i].item<double>(), std::tan((1 - r) * std::atan(80.0) + r * std::atan(0.002)), 1e-12);
  }
  EXPECT_NEAR(kl[0].item<double>(), 80, 1e-9);
  EXPECT_NEAR(kl[4].item<double>(), 0.002, 1e-12);

  // sgm_uniform: evenly spaced in the model's time from σ_max, one interval short of σ_min.
  ScheduleOptions o;
  o.steps = 4;
  const torch::Tensor sgm = sgm_uniform_sigmas(o);
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_NEAR(std::log(sgm[i].item<double>()), std::log(80) + i / 4.0 * (std::log(0.002) - std::log(80)), 1e-12);
  o.time = ModelTime::rf;  // rectified flow's time, t_min = σ_min/(1 + σ_min) to t_max
  const double t_min = 0.002 / 1.002;
  const torch::Tensor rf = sgm_uniform_sigmas(o);
  for (int64_t i = 0; i < 4; ++i) {
    const double t = t_min + (1 - i / 4.0) * (0.999 - t_min);
    EXPECT_NEAR(rf[i].item<double>(), t / (1 - t), 1e-9);
  }

  // beta with α = β = 1 is the uniform distribution: sgm_uniform's grid.
  o.time = ModelTime::log_sigma;
  o.alpha = o.beta = 1;
  EXPECT_TRUE(torch::allclose(beta_sigmas(o), sgm_uniform_sigmas(o), 1e-12, 1e-12));
  // α = β = 0.5 is the arcsine law, F(x) = (2/π)·asin(√x): level i sits at u = F⁻¹(1 − i/N).
  o.alpha = o.beta = 0.5;
  const torch::Tensor arcsine = beta_sigmas(o);
  for (int64_t i = 0; i < 4; ++i) {
    const double u = std::pow(std::sin(M_PI / 2 * (1 - i / 4.0)), 2);
    EXPECT_NEAR(std::log(arcsine[i].item<double>()), std::log(0.002) + u * (std::log(80) - std::log(0.002)), 1e-9);
  }
  for (const std::string name : {"kl_optimal", "sgm_uniform", "simple", "beta"}) {
    o.name = name;
    o.steps = 10;
    const torch::Tensor s = make_sigmas(o);
    EXPECT_EQ(s.size(0), 11) << name;
    EXPECT_EQ(s[10].item<double>(), 0) << name;
    EXPECT_NEAR(s[0].item<double>(), 80, 1e-9) << name;
    EXPECT_TRUE((s.slice(0, 0, 10) > s.slice(0, 1, 11)).all().item<bool>()) << name;
    EXPECT_GE(s[9].item<double>(), 0.002 * (1 - 1e-12)) << name;
  }
}

TEST(Schedule, TheIncompleteBetaFunctionAndItsInverse) {
  for (const double x : {0.01, 0.2, 0.5, 0.9, 0.999}) {
    EXPECT_NEAR(incomplete_beta(x, 1, 1), x, 1e-14);
    EXPECT_NEAR(incomplete_beta(x, 2, 1), x * x, 1e-14);
    EXPECT_NEAR(incomplete_beta(x, 0.5, 0.5), 2 / M_PI * std::asin(std::sqrt(x)), 1e-13);
    EXPECT_NEAR(incomplete_beta(x, 0.6, 2.5), 1 - incomplete_beta(1 - x, 2.5, 0.6), 1e-13);
    for (const double a : {0.6, 3.0})
      EXPECT_NEAR(incomplete_beta(incomplete_beta_inverse(x, a, 0.6), a, 0.6), x, 1e-12);
  }
}

TEST(Schedule, AScheduleByHandIsChecked) {
  EXPECT_TRUE(
      sigmas_from_list({14.6, 2.9, 0.5, 0}, "--sigmas").equal(torch::tensor({14.6, 2.9, 0.5, 0.0}, torch::kDouble)));
  EXPECT_EQ(sigmas_from_list({3, 1}, "--sigmas").size(0), 2);  // no final 0: the samples keep σ = 1 of noise
  EXPECT_TRUE(zoo::test::throws_error_with([] { sigmas_from_list({1, 2, 0}, "--sigmas"); }, {"level 1", "decrease"}));
  EXPECT_TRUE(zoo::test::throws_error_with([] { sigmas_from_list({1, -0.5}, "--sigmas"); }, {"level 1", "positive"}));
  EXPECT_TRUE(zoo::test::throws_error_with([] { sigmas_from_list({2, 0, 0}, "--sigmas"); }, {"level 1"}));
  EXPECT_TRUE(zoo::test::throws_error_with([] { sigmas_from_list({NAN, 0}, "--sigmas"); }, {"finite"}));
  EXPECT_TRUE(zoo::test::throws_error_with([] { sigmas_from_list({0}, "--sigmas"); }, {"two levels"}));
}

TEST(Precond, CoefficientsEqualTheTable) {
  const torch::Tensor sigma = torch::tensor({1.3}, torch::kDouble);
  PrecondOptions edm;
  Coefficients c = coefficients(edm, sigma);
  const double s2 = 1.69, d2 = 0.25;
  EXPECT_NEAR(c.c_skip.item<double>(), d2 / (s2 + d2), 1e-12);
  EXPECT_NEAR(c.c_out.item<double>(), 1.3 * 0.5 / std::sqrt(s2 + d2), 1e-12);
  EXPECT_NEAR(c.c_in.item<double>(), 1 / std::sqrt(s2 + d2), 1e-12);
  EXPECT_NEAR(c.c_noise.item<double>(), 0.25 * std::log(1.3), 1e-12);
  PrecondOptions vp;
  vp.kind = Parameterization::vp;
  c = coefficients(vp, sigma);
  EXPECT_EQ(c.c_skip.item<double>(), 1);
  EXPECT_NEAR(c.c_out.item<double>(), -1.3, 1e-12);
  EXPECT_NEAR(c.c_in.item<double>(), 1 / std::sqrt(s2 + 1), 1e-12);
  const torch::Tensor t = vp_sigma_inverse(vp, sigma);
  EXPECT_NEAR(vp_sigma(vp, t).item<double>(), 1.3, 1e-12);
  EXPECT_NEAR(c.c_noise.item<double>(), 999 * t.item<double>(), 1e-9);
  PrecondOptions ve;
  ve.kind = Parameterization::ve;
  c = coefficients(ve, sigma);
  EXPECT_NEAR(c.c_out.item<double>(), 1.3, 1e-12);
  EXPECT_NEAR(c.c_noise.item<double>(), std::log(0.65), 1e-12);
}

TEST(Precond, RectifiedFlowDenoiserIsTheVelocityModel) {
  // With noise at t = 1: x_t = (1 − t)·x₀ + t·ε, and the EDM frame x = x_t/(1 − t).
  PrecondOptions rf;
  rf.kind = Parameterization::rf;
  const torch::Tensor v = torch::randn({4, 3}, torch::kDouble);
  const Network velocity = [&](const torch::Tensor& x_in, const torch::Tensor& c_noise, const torch::Tensor&) {
    return v + 0 * x_in + 0 * c_noise.view({-1, 1});
  };
  const double t = 0.3, sigma = t / (1 - t);
  const torch::Tensor x_t = torch::randn({4, 3}, torch::kDouble);
  const torch::Tensor d = denoise(rf, velocity, x_t / (1 - t), torch::tensor(sigma, torch::kDouble));
  const torch::Tensor t_tensor = torch::tensor(t, torch::kDouble);
  EXPECT_TRUE(torch::allclose(d, denoised_from_velocity(x_t, t_tensor, v)));
  EXPECT_TRUE(torch::allclose(velocity_from_denoised(x_t, t_tensor, d), v));
  EXPECT_NEAR(rf_time(torch::tensor(sigma)).item<double>(), t, 1e-6);
  EXPECT_NEAR(rf_sigma(rf_time(torch::tensor(2.5, torch::kDouble))).item<double>(), 2.5, 1e-12);
}

// Over a range of step counts (n → 2n, 2n → 4n).
TEST(Samplers, DeterministicSamplersConvergeAtTheirOrders) {
  for (const int64_t n : {32, 64}) {
    EXPECT_NEAR(observed_order("euler", n), 1.0, 0.2) << n;
    EXPECT_NEAR(observed_order("heun", n), 2.0, 0.3) << n;
    EXPECT_NEAR(observed_order("dpmpp_2m", n), 2.0, 0.3) << n;
    EXPECT_NEAR(observed_order("dpm_2", n), 2.0, 0.3) << n;
    EXPECT_NEAR(observed_order("lms", 2 * n), 4.0, 0.3) << n;
    EXPECT_NEAR(observed_order("res_multistep", n), 2.0, 0.3) << n;
    // iPNDM's equal-step coefficients on the uneven karras levels (and its Euler start) leave
    // it second order, as k-diffusion's is.
    EXPECT_NEAR(observed_order("ipndm", 2 * n), 2.0, 0.3) << n;
  }
  EXPECT_LT(error_at("heun", 64), error_at("euler", 64) / 10);
}

// The multistep solvers at each order they take, over a range of step counts: DEIS and
// Adams–Bashforth (lms) at their order, UniPC one above its predictor's (the corrector), both
// of its B(h); DPM-Solver-3's steps (dpm_fast) at 3.
TEST(Samplers, MultistepSolversConvergeAtEveryOrder) {
  for (const int64_t n : {32, 64}) {
    for (const int64_t order : {1, 2, 3}) {
      EXPECT_NEAR(observed_order("deis", n, with_order(order)), order, 0.3) << n << " " << order;
      EXPECT_NEAR(observed_order("lms", n, with_order(order)), order, 0.3) << n << " " << order;
      EXPECT_NEAR(observed_order("unipc", n, with_order(order, "bh1")), order + 1, 0.3) << n << " " << order;
      EXPECT_NEAR(observed_order("unipc", n, with_order(order, "bh2")), order + 1, 0.3) << n << " " << order;
    }
  }
  // dpm_fast's last step is of order 1 or 2 when its budget is not 2 more than a multiple of
  // 3; on budgets of 3k + 2 every step is of order 3 but the last, of order 2.
  for (const int64_t n : {72, 144}) EXPECT_NEAR(observed_order("dpm_fast", n), 3, 0.3) << n;
}

// iPNDM-v's coefficients are the variable-step Adams–Bashforth ones: on levels that end
// above 0 it is lms; its step to σ = 0 is the denoised estimate.
TEST(Samplers, IpndmVIsVariableStepAdamsBashforth) {
  const torch::Tensor x0 = 80 * torch::randn({4, 3}, torch::kDouble);
  EXPECT_TRUE(torch::allclose(sample_ipndm_v(gaussian_denoiser, x0, levels(12), {}),
                              sample_lms(gaussian_denoiser, x0, levels(12), {}), 1e-12, 1e-12));
  const torch::Tensor to_zero = karras_sigmas(12, 0.002, 80, 7);
  const torch::Tensor before_last = sample_ipndm_v(gaussian_denoiser, x0, levels(12), {});
  EXPECT_TRUE(torch::allclose(sample_ipndm_v(gaussian_denoiser, x0, to_zero, {}),
                              gaussian_denoiser(before_last, torch::full({4}, 0.002, torch::kDouble)), 1e-12, 1e-12));
}

// One network evaluation per step for the multistep solvers (UniPC's corrector reuses the
// next step's evaluation), and dpm_fast spends exactly the schedule's number of steps.
TEST(Samplers, MultistepSolversTakeOneEvaluationPerStep) {
  for (const std::string name : {"deis", "unipc", "ipndm_v", "lms", "dpm_fast"}) {
    for (const int64_t steps : {1, 2, 3, 4, 5, 6, 10}) {
      int64_t calls = 0;
      const Denoiser model = counted<Denoiser>(gaussian_denoiser, calls);
      const torch::Tensor out = find_sampler(name)(model, 80 * torch::randn({2, 3}, torch::kDouble),
                                                   karras_sigmas(steps, 0.002, 80, 7), {}, {});
      EXPECT_EQ(calls, steps) << name << " " << steps;
      EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << name;
    }
  }
}

// The catalogue's evaluations per step are what each fixed-step sampler takes: N steps to
// σ = 0 cost e·N − (e − 1) network evaluations, and steps_within inverts that.
TEST(Samplers, EvaluationsPerStepAreWhatTheSamplersTake) {
  for (const auto& entry : samplers().entries()) {
    const int64_t e = entry.value.evaluations;
    if (e == 0) {
      EXPECT_TRUE(zoo::test::throws_error_with([&] { steps_within(entry.name, 10); }, {entry.name, "adaptive"}));
      continue;
    }
    for (const int64_t steps : {1, 4, 7}) {
      int64_t calls = 0;
      const Denoiser model = counted<Denoiser>(gaussian_denoiser, calls);
      entry.value.sample(model, 80 * torch::randn({2, 3}, torch::kDouble), karras_sigmas(steps, 0.002, 80, 7), {}, {});
      EXPECT_EQ(calls, e * steps - (e - 1)) << entry.name << " " << steps;
      EXPECT_EQ(steps_within(entry.name, e * steps - (e - 1)), steps) << entry.name;
      EXPECT_EQ(steps_within(entry.name, e * steps), steps) << entry.name;
    }
  }
  EXPECT_TRUE(zoo::test::throws_error_with([] { steps_within("heun", 0); }, {"heun", "at least one"}));
}

// UniPC on a short schedule lowers its order at the end to the steps left: on 4 steps (to
// 0) its orders are 1, 2, 2 whether it may go to 2 or 3; on 20 steps order 3 is used.
TEST(Samplers, UnipcLowersItsOrderAtTheEndOfAShortSchedule) {
  const torch::Tensor x0 = 80 * torch::randn({4, 3}, torch::kDouble);
  const auto unipc = [&](int64_t steps, int64_t order) {
    return sample_unipc(gaussian_denoiser, x0, karras_sigmas(steps, 0.002, 80, 7), with_order(order));
  };
  EXPECT_TRUE(torch::allclose(unipc(4, 3), unipc(4, 2), 1e-12, 1e-12));
  EXPECT_FALSE(torch::allclose(unipc(20, 3), unipc(20, 2), 1e-6, 1e-6));
}

// An order a solver does not have is a usage error naming the orders it has.
TEST(Samplers, AnOrderBeyondTheSolverIsAUsageError) {
  const torch::Tensor x0 = torch::randn({2, 3}, torch::kDouble), sigmas = karras_sigmas(4, 0.002, 80, 7);
  for (const auto& [name, order, supported] : std::vector<std::tuple<std::string, int64_t, std::string>>{
           {"deis", 4, "1 to 3"}, {"unipc", 0, "1 to 3"}, {"lms", 5, "1 to 4"}, {"dpm_adaptive", 1, "2 to 3"}}) {
    const SamplerOptions options = with_order(order);
    const Sampler sampler = find_sampler(name);
    EXPECT_TRUE(
        zoo::test::throws_error_with([&] { sampler(gaussian_denoiser, x0, sigmas, options, {}); }, {name, supported}))
        << name;
  }
  EXPECT_TRUE(zoo::test::throws_error_with([&] { sample_unipc(gaussian_denoiser, x0, sigmas, with_order(2, "bh3")); },
                                           {"bh3", "bh1 or bh2"}));
}

TEST(Samplers, HeunTakesTwoNMinusOneEvaluations) {
  int64_t calls = 0;
  const Denoiser model = counted<Denoiser>(gaussian_denoiser, calls);
  sample_heun(model, torch::randn({2, 3}, torch::kDouble), karras_sigmas(18, 0.002, 80, 7), {});
  EXPECT_EQ(calls, 35);
}

TEST(Samplers, Rk45MeetsItsTolerance) {
  torch::manual_seed(1);
  const torch::Tensor x0 = 80 * torch::randn({8, 3}, torch::kDouble);
  int64_t calls = 0;
  const Denoiser model = counted<Denoiser>(gaussian_denoiser, calls);
  SamplerOptions options;
  options.rtol = options.atol = 1e-6;
  const torch::Tensor out = sample_rk45(model, x0, levels(18), options);
  EXPECT_LT((out - exact(x0, 80, 0.002)).abs().max().item<double>(), 1e-4);
  EXPECT_GT(calls, 6);
  // Looser tolerance: fewer evaluations, larger (but bounded) error.
  int64_t loose_calls = 0;
  const Denoiser loose_model = counted<Denoiser>(gaussian_denoiser, loose_calls);
  options.rtol = options.atol = 1e-3;
  const torch::Tensor rough = sample_rk45(loose_model, x0, levels(18), options);
  EXPECT_LT(loose_calls, calls);
  EXPECT_LT((rough - exact(x0, 80, 0.002)).abs().max().item<double>(), 0.05);
}

// Many examples of 8-D Gaussian data whose per-dimension scales span 30x (0.1 to 3): the
// ideal denoiser is D(x; σ) = s²/(s² + σ²)·x and the ODE's exact solution is
// x(σ) = x(σ₀)·√((s² + σ²)/(s² + σ₀²)). The adaptive samplers control each step's error
// estimate, not the global error, which can exceed it by what the steps add up to: every
// element ends within 3x its tolerance (rk45: atol + rtol·|x|, dpm_adaptive: max(atol, rtol·|x|)),
// at every tolerance. Measured: rk45 at most 1.7x, dpm_adaptive 2.6x.
TEST(Samplers, AdaptiveSamplersMeetTheirToleranceOnEveryExample) {
  torch::manual_seed(3);
  const torch::Tensor scale = torch::logspace(std::log10(0.1), std::log10(3.0), 8, 10, torch::kDouble);
  const Denoiser gaussian = [&](const torch::Tensor& x, const torch::Tensor& sigma) {
    const torch::Tensor s2 = scale.square(), v2 = sigma.view({-1, 1}).square();
    return s2 / (s2 + v2) * x;
  };
  const torch::Tensor x0 = 80 * torch::randn({12000, 8}, torch::kDouble);
  const torch::Tensor target = x0 * ((scale.square() + 0.002 * 0.002) / (scale.square() + 80.0 * 80.0)).sqrt();
  for (const double tolerance : {1e-3, 1e-4, 1e-5}) {
    SamplerOptions options;
    options.rtol = options.atol = tolerance;
    const torch::Tensor rk45 = sample_rk45(gaussian, x0, levels(18), options, {});
    const torch::Tensor rk45_ratio = (rk45 - target).abs() / (tolerance + tolerance * target.abs());
    EXPECT_LT(rk45_ratio.max().item<double>(), 3) << "rk45 at tolerance " << tolerance;
    const torch::Tensor dpm = sample_dpm_adaptive(gaussian, x0, levels(18), options, {});
    const torch::Tensor dpm_ratio = (dpm - target).abs() / torch::clamp_min(tolerance * target.abs(), tolerance);
    EXPECT_LT(dpm_ratio.max().item<double>(), 3) << "dpm_adaptive at tolerance " << tolerance;
  }
}

// dpm_adaptive's defaults are k-diffusion's loose ones (rtol 0.05, atol 0.0078): few
// evaluations, and the result still near the exact solution of the data's scale.
TEST(Samplers, DpmAdaptiveDefaultsAreLoose) {
  torch::manual_seed(1);
  const torch::Tensor x0 = 80 * torch::randn({8, 3}, torch::kDouble);
  int64_t loose_calls = 0, tight_calls = 0;
  const torch::Tensor rough =
      sample_dpm_adaptive(counted<Denoiser>(gaussian_denoiser, loose_calls), x0, levels(18), {});
  SamplerOptions options;
  options.rtol = options.atol = 1e-5;
  sample_dpm_adaptive(counted<Denoiser>(gaussian_denoiser, tight_calls), x0, levels(18), options);
  EXPECT_LT(loose_calls, tight_calls / 2);
  EXPECT_LT((rough - exact(x0, 80, 0.002)).abs().max().item<double>(), 0.1 * kS);
}

// DDIM is deterministic unless asked otherwise; euler_ancestral draws noise by default.
TEST(Samplers, EachSamplerHasItsOwnEta) {
  const torch::Tensor x0 = 80 * torch::randn({4, 3}, torch::kDouble);
  const torch::Tensor sigmas = karras_sigmas(10, 0.002, 80, 7);
  const SamplerOptions defaults;
  EXPECT_TRUE(torch::allclose(sample_ddim(gaussian_denoiser, x0, sigmas, defaults),
                              sample_euler(gaussian_denoiser, x0, sigmas, defaults), 1e-12, 1e-12));
  EXPECT_FALSE(torch::allclose(sample_euler_ancestral(gaussian_denoiser, x0, sigmas, defaults),
                               sample_euler(gaussian_denoiser, x0, sigmas, defaults)));
  SamplerOptions noisy;
  noisy.eta = 1;
  EXPECT_TRUE(sample_ddim(gaussian_denoiser, x0, sigmas, noisy)
                  .equal(sample_euler_ancestral(gaussian_denoiser, x0, sigmas, noisy)));
}

TEST(Samplers, DdimWithoutNoiseIsEuler) {
  const torch::Tensor x0 = 80 * torch::randn({4, 3}, torch::kDouble);
  const torch::Tensor sigmas = karras_sigmas(10, 0.002, 80, 7);
  SamplerOptions deterministic;
  deterministic.eta = 0;
  EXPECT_TRUE(torch::allclose(sample_ddim(gaussian_denoiser, x0, sigmas, deterministic),
                              sample_euler(gaussian_denoiser, x0, sigmas, deterministic), 1e-10, 1e-12));
}

namespace {

// Correlated 2-D Gaussian data: D(x; σ) = μ + Σ(Σ + σ²I)⁻¹(x − μ).
const torch::Tensor kMean = torch::tensor({1.0, -0.5}, torch::kDouble);
const torch::Tensor kCov = torch::tensor({{0.5, 0.2}, {0.2, 0.3}}, torch::kDouble);

// In Σ's eigenbasis (Σ = QΛQᵀ) the gain Σ(Σ + σ²I)⁻¹ is diagonal: λ/(λ + σ²).
torch::Tensor correlated_denoiser(const torch::Tensor& x, const torch::Tensor& sigma) {
  static const auto eig = torch::linalg_eigh(kCov, "L");
  const torch::Tensor& eigenvalues = std::get<0>(eig);
  const torch::Tensor& q = std::get<1>(eig);
  const torch::Tensor gain = eigenvalues / (eigenvalues + sigma.view({-1, 1}).square());
  return kMean + torch::matmul(torch::matmul(x - kMean, q) * gain, q.t());
}

torch::Tensor covariance(const torch::Tensor& x) {
  const torch::Tensor centred = x - x.mean(0);
  return torch::matmul(centred.t(), centred) / (x.size(0) - 1);
}

}  // namespace

TEST(Samplers, StochasticSamplersReproduceTheDataDistribution) {
  SamplerOptions options;
  options.seed = 3;
  options.s_churn = 40;
  options.s_tmin = 0.05;
  options.s_tmax = 50;
  options.s_noise = 1.003;
  // Ancestral sampling is first order with a bias that shrinks with the step size; EDM's
  // churn with Heun steps gets there in far fewer.
  for (const auto& [name, steps] :
       std::vector<std::pair<std::string, int64_t>>{{"edm", 40}, {"euler_ancestral", 400}}) {
    const torch::Tensor sigmas = karras_sigmas(steps, 0.002, 80, 7);
    const torch::Tensor x0 = 80 * torch::randn({3000, 2}, torch::kDouble);
    const torch::Tensor out = find_sampler(name)(correlated_denoiser, x0, sigmas, options, {});
    EXPECT_TRUE(torch::allclose(out.mean(0), kMean, 0, 0.04)) << name << " mean " << out.mean(0);
    EXPECT_TRUE(torch::allclose(covariance(out), kCov, 0, 0.04)) << name << " cov " << covariance(out);
  }
}

// The SDE samplers on 20,000 samples of correlated 2-D Gaussian data, whose ideal denoiser is
// exact: with enough steps their samples have the data's mean and covariance, within four
// standard errors (σ/√n for a mean, about √2·σ²/√n for a covariance entry).
TEST(Samplers, SdeSamplersReproduceTheDataDistribution) {
  SamplerOptions options;
  options.seed = 5;
  const int64_t n = 20000;
  const double mean_tolerance = 4 * std::sqrt(0.5 / n), cov_tolerance = 4 * std::sqrt(2.0) * 0.5 / std::sqrt(n);
  for (const auto& [name, steps] : std::vector<std::pair<std::string, int64_t>>{{"dpmpp_2m_sde", 100},
                                                                                {"dpmpp_2m_sde_heun", 100},
                                                                                {"dpmpp_3m_sde", 100},
                                                                                {"dpm_2_ancestral", 100},
                                                                                {"dpmpp_2s_ancestral", 100},
                                                                                {"dpmpp_sde", 100}}) {
    const torch::Tensor x0 = 80 * torch::randn({n, 2}, torch::kDouble);
    const torch::Tensor out =
        find_sampler(name)(correlated_denoiser, x0, karras_sigmas(steps, 0.002, 80, 7), options, {});
    EXPECT_TRUE(torch::allclose(out.mean(0), kMean, 0, mean_tolerance)) << name << " mean " << out.mean(0);
    EXPECT_TRUE(torch::allclose(covariance(out), kCov, 0, cov_tolerance)) << name << " cov " << covariance(out);
  }
}

// LCM on Gaussian data: its law is known step by step. With D(x; σ) = g·x + (1 − g)·μ,
// g = s²/(s² + σ²), each step maps mean m and variance v to g·m + (1 − g)·μ and g²·v + σ_next²
// (no renoising at σ_next = 0). 20,000 samples match that law within four standard errors.
TEST(Samplers, LcmFollowsTheExactLawOfItsSteps) {
  const int64_t n = 20000;
  const torch::Tensor sigmas = karras_sigmas(4, 0.002, 80, 7);
  const torch::Tensor x0 = 80 * torch::randn({n, 2}, torch::kDouble);
  SamplerOptions options;
  options.seed = 4;
  const torch::Tensor out = sample_lcm(gaussian_denoiser, x0, sigmas, options);
  double m = 0, v = 80.0 * 80.0;
  for (int64_t i = 0; i + 1 < sigmas.size(0); ++i) {
    const double sigma = sigmas[i].item<double>(), next = sigmas[i + 1].item<double>();
    const double g = kS * kS / (kS * kS + sigma * sigma);
    m = g * m + (1 - g) * kMu;
    v = g * g * v + next * next;
  }
  EXPECT_NEAR(out.mean().item<double>(), m, 4 * std::sqrt(v / (2.0 * n)));
  EXPECT_NEAR(out.var().item<double>(), v, 4 * std::sqrt(2.0 / (2.0 * n)) * v);
  EXPECT_LT(v, kS * kS);  // the posterior mean's spread, below the data's: LCM is for distilled models
}

// CFG++ without guidance is Euler (and euler_ancestral, with the same noise).
TEST(Samplers, CfgPpWithoutGuidanceIsEuler) {
  const torch::Tensor x0 = 80 * torch::randn({6, 2}, torch::kDouble);
  const torch::Tensor sigmas = karras_sigmas(10, 0.002, 80, 7);
  SamplerOptions options;
  options.seed = 2;
  EXPECT_TRUE(torch::allclose(find_sampler("euler_cfg_pp")(correlated_denoiser, x0, sigmas, options, {}),
                              sample_euler(correlated_denoiser, x0, sigmas, options), 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(find_sampler("euler_ancestral_cfg_pp")(correlated_denoiser, x0, sigmas, options, {}),
                              sample_euler_ancestral(correlated_denoiser, x0, sigmas, options), 1e-12, 1e-12));
}

// CFG++ on two Gaussian laws with one scale s, the condition's N(μ_c, s²) and the whole
// data's N(μ_u, s²): with g = s²/(s² + σ²) and r = σ_next/σ, its step
// x_next = D_w + r·(x − D_u) is x_next = (g + r(1 − g))·x + (1 − g)·(μ_u + w·(μ_c − μ_u)) − r(1 − g)·μ_u:
// the unconditional Euler step plus w(1 − g)(μ_c − μ_u). The result is the unconditional
// Euler result plus those shifts carried by the later steps' gains. Plain guidance with Euler
// is not this (it would also carry the guidance in its noise direction).
TEST(Samplers, CfgPpFollowsTheExactLawOfItsSteps) {
  constexpr double mu_c = 1.5, mu_u = 0.2, w = 0.6;
  const auto denoiser_of = [](double mu) {
    return [mu](const torch::Tensor& x, const torch::Tensor& sigma) {
      const torch::Tensor s2 = sigma.view({-1, 1}).square();
      return (kS * kS * x + s2 * mu) / (kS * kS + s2);
    };
  };
  const Denoiser conditional = denoiser_of(mu_c), unconditional = denoiser_of(mu_u);
  const GuidedDenoiser guided = [&](const torch::Tensor& x, const torch::Tensor& sigma) {
    const torch::Tensor u = unconditional(x, sigma);
    return Guided{u + w * (conditional(x, sigma) - u), u};
  };
  const torch::Tensor sigmas = karras_sigmas(12, 0.002, 80, 7);
  const torch::Tensor x0 = 80 * torch::randn({5, 3}, torch::kDouble);
  double shift = 0;
  for (int64_t i = 0; i + 1 < sigmas.size(0); ++i) {
    const double sigma = sigmas[i].item<double>(), next = sigmas[i + 1].item<double>();
    const double g = kS * kS / (kS * kS + sigma * sigma), r = next / sigma;
    shift = (g + r * (1 - g)) * shift + w * (1 - g) * (mu_c - mu_u);
  }
  const torch::Tensor out = sample_euler_cfg_pp(guided, x0, sigmas, {});
  EXPECT_TRUE(torch::allclose(out, sample_euler(unconditional, x0, sigmas, {}) + shift, 1e-10, 1e-10));
  const Denoiser cfg = [&](const torch::Tensor& x, const torch::Tensor& sigma) { return guided(x, sigma).denoised; };
  EXPECT_GT((out - sample_euler(cfg, x0, sigmas, {})).abs().min().item<double>(), 0.01);
}

// Noise from one Brownian path per sample: a sample hardly moves when the steps double
// (independent noise per step would move it by about the data's own spread), and it does
// not depend on the batch it is drawn in.
TEST(Samplers, SdeSamplesDependOnSeedAndIndexNotOnStepsOrBatch) {
  const torch::Tensor x0 = 80 * torch::randn({2000, 2}, torch::kDouble);
  SamplerOptions options;
  options.seed = 8;
  const torch::Tensor coarse = sample_dpmpp_2m_sde(correlated_denoiser, x0, karras_sigmas(50, 0.002, 80, 7), options);
  const torch::Tensor fine = sample_dpmpp_2m_sde(correlated_denoiser, x0, karras_sigmas(100, 0.002, 80, 7), options);
  const double moved = (fine - coarse).square().sum(1).mean().sqrt().item<double>();
  const double spread = std::sqrt(2 * kCov.trace().item<double>());  // two independent draws of the data
  EXPECT_LT(moved, 0.1 * spread);                                    // measured: 0.03 of it
  SamplerOptions tail = options;
  tail.first_index = 3;
  const torch::Tensor sigmas = karras_sigmas(12, 0.002, 80, 7);
  EXPECT_TRUE(torch::allclose(sample_dpmpp_3m_sde(correlated_denoiser, x0.slice(0, 0, 8), sigmas, options).slice(0, 3),
                              sample_dpmpp_3m_sde(correlated_denoiser, x0.slice(0, 3, 8), sigmas, tail), 1e-12, 1e-12));
}

// W(t) of a Brownian tree: W(t0) = 0, Var W(t) = t − t0, Cov(W(a), W(b)) = min(a, b) − t0,
// the same path at any query order, and sample i's path its own in any batch.
TEST(BrownianTree, IsBrownianMotionFixedBySeedAndSample) {
  const int64_t n = 20000;
  const BrownianTree tree({n, 1}, 0.5, 8.5, 11, 0, torch::TensorOptions(torch::kDouble));
  const torch::Tensor a = tree.at(2.5), b = tree.at(7.0);
  const double se = std::sqrt(2.0 / n);  // relative standard error of a variance
  EXPECT_NEAR(a.var().item<double>(), 2.0, 4 * se * 2.0);
  EXPECT_NEAR(b.var().item<double>(), 6.5, 4 * se * 6.5);
  EXPECT_NEAR((a * b).mean().item<double>(), 2.0, 4 * std::sqrt(2.0 * 6.5 / n) + 4 * se * 2.0);
  EXPECT_EQ(tree.at(0.5).abs().max().item<double>(), 0);
  // Increments over a finer grid telescope to the same path.
  EXPECT_TRUE(torch::allclose(tree.noise(2.5, 7.0) * std::sqrt(4.5), b - a, 1e-12, 1e-12));
  const BrownianTree again({n, 1}, 0.5, 8.5, 11, 0, torch::TensorOptions(torch::kDouble));
  EXPECT_TRUE(again.at(7.0).equal(b));  // queried first this time
  const BrownianTree tail({5, 1}, 0.5, 8.5, 11, 100, torch::TensorOptions(torch::kDouble));
  EXPECT_TRUE(tail.at(2.5).equal(a.slice(0, 100, 105)));
  EXPECT_FALSE(BrownianTree({n, 1}, 0.5, 8.5, 12, 0, torch::TensorOptions(torch::kDouble)).at(2.5).equal(a));
}

TEST(Samplers, ASampleDoesNotDependOnItsBatch) {
  const torch::Tensor sigmas = karras_sigmas(12, 0.002, 80, 7);
  const torch::Tensor x0 = 80 * torch::randn({6, 2}, torch::kDouble);
  SamplerOptions options;
  options.seed = 9;
  options.s_churn = 10;
  const torch::Tensor whole = sample_euler_ancestral(correlated_denoiser, x0, sigmas, options);
  SamplerOptions tail = options;
  tail.first_index = 2;
  const torch::Tensor first = sample_euler_ancestral(correlated_denoiser, x0.slice(0, 0, 2), sigmas, options);
  const torch::Tensor rest = sample_euler_ancestral(correlated_denoiser, x0.slice(0, 2), sigmas, tail);
  EXPECT_TRUE(torch::allclose(whole, torch::cat({first, rest}), 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(sample_edm(correlated_denoiser, x0, sigmas, options),
                              torch::cat({sample_edm(correlated_denoiser, x0.slice(0, 0, 2), sigmas, options),
                                          sample_edm(correlated_denoiser, x0.slice(0, 2), sigmas, tail)}),
                              1e-12, 1e-12));
}

TEST(Samplers, UnknownNameIsAUsageError) {
  try {
    find_sampler("plms");
    FAIL();
  } catch (const zoo::Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("dpmpp_2m"), std::string::npos);
  }
}

namespace {

// A mixture of two Gaussians per coordinate, ½N(−1, s²) + ½N(1, s²), whose ideal
// denoiser is the posterior-weighted mean of the components' denoisers.
torch::Tensor mixture_denoiser(const torch::Tensor& x, const torch::Tensor& sigma) {
  constexpr double s2 = 0.09;
  const torch::Tensor total = s2 + sigma.view({-1, 1}).square();
  // Posterior weight of the component at +1: sigmoid of the log-likelihood ratio.
  const torch::Tensor w = torch::sigmoid(2 * x / total);
  const torch::Tensor plus = (s2 * x + (total - s2)) / total, minus = (s2 * x - (total - s2)) / total;
  return w * plus + (1 - w) * minus;
}

double mixture_error(const std::string& sampler, int64_t n, const torch::Tensor& x0, const torch::Tensor& reference) {
  const torch::Tensor out = find_sampler(sampler)(mixture_denoiser, x0, levels(n), SamplerOptions{}, {});
  return (out - reference).abs().max().item<double>();
}

}  // namespace

TEST(Samplers, ConvergeAtTheirOrdersOnAGaussianMixture) {
  torch::manual_seed(7);
  const torch::Tensor x0 = 80 * torch::randn({16, 2}, torch::kDouble);
  // No closed form for the path here: the reference is rk45 at a tolerance far below the
  // errors being measured.
  SamplerOptions tight;
  tight.rtol = tight.atol = 1e-11;
  const torch::Tensor reference = sample_rk45(mixture_denoiser, x0, levels(18), tight);
  auto order = [&](const std::string& name, int64_t n) {
    return std::log2(mixture_error(name, n, x0, reference) / mixture_error(name, 2 * n, x0, reference));
  };
  EXPECT_NEAR(order("euler", 64), 1.0, 0.25);
  EXPECT_NEAR(order("heun", 64), 2.0, 0.35);
  EXPECT_NEAR(order("dpmpp_2m", 64), 2.0, 0.35);
  EXPECT_NEAR(order("dpm_2", 64), 2.0, 0.35);
  EXPECT_NEAR(order("lms", 128), 4.0, 0.35);
  EXPECT_NEAR(order("res_multistep", 64), 2.0, 0.35);
  EXPECT_NEAR(order("deis", 96), 3.0, 0.35);
  // UniPC at order 2 (3 with its corrector). At order 3 its first steps, of orders 1 and 2,
  // leave it between 3 and 4 here (measured 2.9 to 3.7 from 64 to 512 steps); 4 on Gaussian data.
  const SamplerOptions second = with_order(2);
  const auto unipc_error = [&](int64_t n) {
    return (sample_unipc(mixture_denoiser, x0, levels(n), second) - reference).abs().max().item<double>();
  };
  EXPECT_NEAR(std::log2(unipc_error(128) / unipc_error(256)), 3.0, 0.35);
  EXPECT_NEAR(order("dpm_fast", 72), 3.0, 0.35);  // budgets of 3k + 2, as above
  // The samples land near the modes ±1, not between them.
  EXPECT_GT(reference.abs().min().item<double>(), 0.3);
}
