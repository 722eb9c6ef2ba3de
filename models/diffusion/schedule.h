#pragma once
// Noise-level schedules for sampling: decreasing σ_0 > … > σ_{N−1} followed by σ_N = 0,
// in float64 (as in EDM's sampler), the same conventions as k-diffusion's get_sigmas_*.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "core/catalogue.h"

namespace zoo::diffusion {

// The model's own time, along which sgm_uniform, simple and beta space their levels:
// ln σ between σ_min and σ_max (edm, ve: the log-spaced σ table k-diffusion and ComfyUI give
// continuous models), VP's t between eps_s and 1, or rectified flow's t = σ/(1 + σ) up to t_max.
enum class ModelTime { log_sigma, vp, rf };

struct ScheduleOptions {
  std::string name = "karras";  // the catalogue's names
  int64_t steps = 18;           // N: noise levels before the final 0
  double sigma_min = 0.002;
  double sigma_max = 80;
  double rho = 7;                                      // karras and polyexponential
  double beta_d = 19.9, beta_min = 0.1, eps_s = 1e-3;  // vp
  double t_max = 0.999;                   // uniform_t: rectified-flow time of the first level (σ = t/(1 − t))
  ModelTime time = ModelTime::log_sigma;  // sgm_uniform, simple, beta
  double alpha = 0.6, beta = 0.6;         // beta: the Beta(α, β) distribution of the levels in time
};

// σ_i = (σ_max^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ  (Karras et al., eq. 5).
torch::Tensor karras_sigmas(int64_t n, double sigma_min, double sigma_max, double rho);
// Evenly spaced in log σ.
torch::Tensor exponential_sigmas(int64_t n, double sigma_min, double sigma_max);
// log σ interpolated along a ramp raised to ρ (ρ = 1 is exponential).
torch::Tensor polyexponential_sigmas(int64_t n, double sigma_min, double sigma_max, double rho);
// VP's σ(t) at t evenly spaced from 1 to eps_s.
torch::Tensor vp_sigmas(int64_t n, double beta_d, double beta_min, double eps_s);
// Rectified flow's uniform time grid t_i = t_max·(1 − i/N), as σ = t/(1 − t).
torch::Tensor uniform_t_sigmas(int64_t n, double t_max);
// tan((1 − r)·atan σ_max + r·atan σ_min), r = i/(N−1): the KL-optimal schedule of Sabour et al.
// 2024 ("Align Your Steps") for data of unit scale, as ComfyUI implements it.
torch::Tensor kl_optimal_sigmas(int64_t n, double sigma_min, double sigma_max);
// σ at the model's time u ∈ [0, 1] (0: σ_min, 1: σ_max), in float64.
torch::Tensor sigma_at_time(const ScheduleOptions& options, const torch::Tensor& u);
// N levels evenly spaced in the model's time from σ_max, stopping one interval short of σ_min
// (Stability's sgm_uniform; for a continuous model ComfyUI's simple is the same grid).
torch::Tensor sgm_uniform_sigmas(const ScheduleOptions& options);
// Levels at the model's times u_i = 1 − F⁻¹(i/(N−1)), F the Beta(α, β) distribution function
// (Lee et al. 2024): α = β = 0.6 spends more levels at both ends.
torch::Tensor beta_sigmas(const ScheduleOptions& options);
// The regularised incomplete beta function I_x(a, b) and its inverse in x.
double incomplete_beta(double x, double a, double b);
double incomplete_beta_inverse(double p, double a, double b);

// A schedule given by hand (--sigmas, --sigmas-file), float64: every level finite, positive
// and below the one before, a final 0 optional (without it the samples keep the last level's
// noise). `what` names the source in errors.
torch::Tensor sigmas_from_list(const std::vector<double>& levels, const std::string& what);

// The schedule a model's parameterization is usually sampled with (EDM's defaults): karras
// over [0.002, 80] for edm, karras over [0.02, 100] for ve, vp's own for vp, and uniform
// time for rf.
ScheduleOptions default_schedule(const std::string& parameterization, int64_t steps);

// Every schedule by name (karras, exponential, polyexponential, vp, uniform_t, kl_optimal,
// sgm_uniform, simple, beta).
using Schedule = std::function<torch::Tensor(const ScheduleOptions&)>;
const Catalogue<Schedule>& schedules();

// The schedule named in the options; unknown names and bad values are usage errors.
torch::Tensor make_sigmas(const ScheduleOptions& options);

}  // namespace zoo::diffusion
