#pragma once
// Noise-level schedules for sampling: decreasing σ_0 > … > σ_{N−1} followed by σ_N = 0,
// in float64 (as in EDM's sampler), the same conventions as k-diffusion's get_sigmas_*.
#include <torch/torch.h>

#include <functional>
#include <string>

#include "core/catalogue.h"

namespace zoo::diffusion {

struct ScheduleOptions {
  std::string name = "karras";  // karras, exponential, polyexponential, vp, uniform_t
  int64_t steps = 18;           // N: noise levels before the final 0
  double sigma_min = 0.002;
  double sigma_max = 80;
  double rho = 7;                                      // karras and polyexponential
  double beta_d = 19.9, beta_min = 0.1, eps_s = 1e-3;  // vp
  double t_max = 0.999;  // uniform_t: rectified-flow time of the first level (σ = t/(1 − t))
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

// The schedule a model's parameterization is usually sampled with (EDM's defaults): karras
// over [0.002, 80] for edm, karras over [0.02, 100] for ve, vp's own for vp, and uniform
// time for rf.
ScheduleOptions default_schedule(const std::string& parameterization, int64_t steps);

// Every schedule by name (karras, exponential, polyexponential, vp, uniform_t).
using Schedule = std::function<torch::Tensor(const ScheduleOptions&)>;
const Catalogue<Schedule>& schedules();

// The schedule named in the options; unknown names and bad values are usage errors.
torch::Tensor make_sigmas(const ScheduleOptions& options);

}  // namespace zoo::diffusion
