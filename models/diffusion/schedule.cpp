#include "models/diffusion/schedule.h"

#include <cmath>

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

torch::Tensor kl_optimal_sigmas(int64_t n, double sigma_min, double sigma_max) {
  const torch::Tensor r = ramp(n);
  return append_zero(torch::tan((1 - r) * std::atan(sigma_max) + r * std::atan(sigma_min)));
}

torch::Tensor sigma_at_time(const ScheduleOptions& o, const torch::Tensor& u) {
  switch (o.time) {
    case ModelTime::vp: {
      const torch::Tensor t = o.eps_s + u * (1 - o.eps_s);
      return torch::sqrt(torch::exp(0.5 * o.beta_d * t.square() + o.beta_min * t) - 1);
    }
    case ModelTime::rf: {
      const double t_min = o.sigma_min / (1 + o.sigma_min);
      const torch::Tensor t = t_min + u * (o.t_max - t_min);
      return t / (1 - t);
    }
    case ModelTime::log_sigma: break;
  }
  return torch::exp(std::log(o.sigma_min) + u * (std::log(o.sigma_max) - std::log(o.sigma_min)));
}

torch::Tensor sgm_uniform_sigmas(const ScheduleOptions& o) {
  const torch::Tensor u = 1 - torch::arange(o.steps, torch::kDouble) / static_cast<double>(o.steps);
  return append_zero(sigma_at_time(o, u));
}

torch::Tensor beta_sigmas(const ScheduleOptions& o) {
  if (!(o.alpha > 0) || !(o.beta > 0)) throw Error("the beta schedule needs alpha > 0 and beta > 0", ErrorKind::usage);
  std::vector<double> u(static_cast<size_t>(o.steps));
  for (int64_t i = 0; i < o.steps; ++i)
    u[static_cast<size_t>(i)] =
        incomplete_beta_inverse(1 - static_cast<double>(i) / static_cast<double>(o.steps), o.alpha, o.beta);
  return append_zero(sigma_at_time(o, torch::tensor(u, torch::kDouble)));
}

namespace {

// The continued fraction of I_x(a, b) by Lentz's method (Numerical Recipes' betacf).
double beta_fraction(double x, double a, double b) {
  constexpr double tiny = 1e-300;
  const auto guard = [](double v) { return std::abs(v) < tiny ? tiny : v; };
  double c = 1, d = 1 / guard(1 - (a + b) * x / (a + 1)), h = d;
  for (int m = 1; m <= 500; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a - 1 + m2) * (a + m2));
    d = 1 / guard(1 + aa * d);
    c = guard(1 + aa / c);
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
    d = 1 / guard(1 + aa * d);
    c = guard(1 + aa / c);
    const double step = d * c;
    h *= step;
    if (std::abs(step - 1) < 1e-16) break;
  }
  return h;
}

}  // namespace

double incomplete_beta(double x, double a, double b) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  // The fraction converges fast on the side of the mean; the other side by symmetry.
  if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(x, a, b) / a;
  return 1 - front * beta_fraction(1 - x, b, a) / b;
}

double incomplete_beta_inverse(double p, double a, double b) {
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  double lo = 0, hi = 1;  // I_x is increasing in x: bisect to float64 resolution
  for (int i = 0; i < 200 && hi - lo > 1e-16; ++i) {
    const double mid = 0.5 * (lo + hi);
    (incomplete_beta(mid, a, b) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

torch::Tensor sigmas_from_list(const std::vector<double>& levels, const std::string& what) {
  if (levels.size() < 2) throw Error(what + ": a schedule needs at least two levels", ErrorKind::usage);
  for (size_t i = 0; i < levels.size(); ++i) {
    const double level = levels[i];
    const bool final_zero = i + 1 == levels.size() && level == 0;
    if (!std::isfinite(level) || (level <= 0 && !final_zero))
      throw Error(what + ": level " + std::to_string(i) + " is " + std::to_string(level) +
                      "; levels must be finite and positive (only the last may be 0)",
                  ErrorKind::usage);
    if (i > 0 && !(level < levels[i - 1]))
      throw Error(what + ": level " + std::to_string(i) + " (" + std::to_string(level) +
                      ") is not below the one before (" + std::to_string(levels[i - 1]) + "); levels must decrease",
                  ErrorKind::usage);
  }
  return torch::tensor(levels, torch::kDouble);
}

const Catalogue<Schedule>& schedules() {
  static const Catalogue<Schedule> catalogue(
      "schedule",
      {{"karras", [](const ScheduleOptions& o) { return karras_sigmas(o.steps, o.sigma_min, o.sigma_max, o.rho); }},
       {"exponential", [](const ScheduleOptions& o) { return exponential_sigmas(o.steps, o.sigma_min, o.sigma_max); }},
       {"polyexponential",
        [](const ScheduleOptions& o) { return polyexponential_sigmas(o.steps, o.sigma_min, o.sigma_max, o.rho); }},
       {"vp", [](const ScheduleOptions& o) { return vp_sigmas(o.steps, o.beta_d, o.beta_min, o.eps_s); }},
       {"uniform_t",
        [](const ScheduleOptions& o) {
          if (!(o.t_max > 0 && o.t_max < 1)) throw Error("uniform_t needs 0 < t_max < 1", ErrorKind::usage);
          return uniform_t_sigmas(o.steps, o.t_max);
        }},
       {"kl_optimal", [](const ScheduleOptions& o) { return kl_optimal_sigmas(o.steps, o.sigma_min, o.sigma_max); }},
       {"sgm_uniform", sgm_uniform_sigmas},
       {"simple", sgm_uniform_sigmas},
       {"beta", beta_sigmas}});
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
    o.time = ModelTime::vp;
  } else if (parameterization == "rf") {
    o.name = "uniform_t";
    o.time = ModelTime::rf;
  } else if (parameterization != "edm") {
    throw Error("unknown parameterization '" + parameterization + "' (expected edm, vp, ve or rf)", ErrorKind::usage);
  }
  return o;
}

}  // namespace zoo::diffusion
