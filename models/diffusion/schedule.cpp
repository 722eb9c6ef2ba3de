#include "models/diffusion/schedule.h"

#include "core/error.h"

namespace zoo::diffusion {

namespace {
torch::Tensor append_zero(const torch::Tensor& sigmas) {
  return torch::cat({sigmas, torch::zeros({1}, torch::kDouble)});
}

torch::Tensor ramp(int64_t n) {  // 0, 1/(n−1), …, 1 (just 0 when n = 1)
  return n == 1 ? torch::zeros({1}, torch::kDouble) : torch::linspace(0, 1, n, torch::kDouble);
}
}  // namespace

torch::Tensor karras_sigmas(int64_t n, double sigma_min, double sigma_max, double rho) {
  const double lo = std::pow(sigma_min, 1 / rho), hi = std::pow(sigma_max, 1 / rho);
  return append_zero((hi + ramp(n) * (lo - hi)).pow(rho));
}

torch::Tensor exponential_sigmas(int64_t n, double sigma_min, double sigma_max) {
  return append_zero(torch::exp(std::log(sigma_max) + ramp(n) * (std::log(sigma_min) - std::log(sigma_max))));
}

torch::Tensor polyexponential_sigmas(int64_t n, double sigma_min, double sigma_max, double rho) {
  const torch::Tensor r = (1 - ramp(n)).pow(rho);  // 1 → 0
  return append_zero(torch::exp(r * (std::log(sigma_max) - std::log(sigma_min)) + std::log(sigma_min)));
}

torch::Tensor vp_sigmas(int64_t n, double beta_d, double beta_min, double eps_s) {
  const torch::Tensor t = 1 + ramp(n) * (eps_s - 1);
  return append_zero(torch::sqrt(torch::exp(0.5 * beta_d * t.square() + beta_min * t) - 1));
}

torch::Tensor uniform_t_sigmas(int64_t n, double t_max) {
  const torch::Tensor t = t_max * (1 - torch::arange(n, torch::kDouble) / static_cast<double>(n));
  return append_zero(t / (1 - t));
}

const Catalogue<Schedule>& schedules() {
  static const Catalogue<Schedule> catalogue(
      "schedule",
      {{"karras", [](const ScheduleOptions& o) { return karras_sigmas(o.steps, o.sigma_min, o.sigma_max, o.rho); }},
       {"exponential", [](const ScheduleOptions& o) { return exponential_sigmas(o.steps, o.sigma_min, o.sigma_max); }},
       {"polyexponential",
        [](const ScheduleOptions& o) { return polyexponential_sigmas(o.steps, o.sigma_min, o.sigma_max, o.rho); }},
       {"vp", [](const ScheduleOptions& o) { return vp_sigmas(o.steps, o.beta_d, o.beta_min, o.eps_s); }},
       {"uniform_t", [](const ScheduleOptions& o) {
          if (!(o.t_max > 0 && o.t_max < 1)) throw Error("uniform_t needs 0 < t_max < 1", ErrorKind::usage);
          return uniform_t_sigmas(o.steps, o.t_max);
        }}});
  return catalogue;
}

torch::Tensor make_sigmas(const ScheduleOptions& o) {
  const Schedule& schedule = schedules().find(o.name);
  if (o.steps < 1) throw Error("--steps must be at least 1, got " + std::to_string(o.steps), ErrorKind::usage);
  if (!(o.sigma_min > 0) || !(o.sigma_max > o.sigma_min))
    throw Error("the schedule needs 0 < sigma_min < sigma_max", ErrorKind::usage);
  return schedule(o);
}

ScheduleOptions default_schedule(const std::string& parameterization, int64_t steps) {
  ScheduleOptions o;
  o.steps = steps;
  if (parameterization == "ve") {
    o.sigma_min = 0.02;
    o.sigma_max = 100;
  } else if (parameterization == "vp") {
    o.name = "vp";
  } else if (parameterization == "rf") {
    o.name = "uniform_t";
  } else if (parameterization != "edm") {
    throw Error("unknown parameterization '" + parameterization + "' (expected edm, vp, ve or rf)", ErrorKind::usage);
  }
  return o;
}

}  // namespace zoo::diffusion
