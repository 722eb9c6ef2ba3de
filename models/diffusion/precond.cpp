#include "models/diffusion/precond.h"

#include "core/error.h"
#include "core/json_fields.h"

namespace zoo::diffusion {

Parameterization parse_parameterization(const std::string& name) {
  if (name == "edm") return Parameterization::edm;
  if (name == "vp") return Parameterization::vp;
  if (name == "ve") return Parameterization::ve;
  if (name == "rf") return Parameterization::rf;
  throw Error("unknown objective '" + name + "' (expected edm, vp, ve or rf)", ErrorKind::usage);
}

std::string to_string(Parameterization kind) {
  switch (kind) {
    case Parameterization::edm: return "edm";
    case Parameterization::vp: return "vp";
    case Parameterization::ve: return "ve";
    case Parameterization::rf: return "rf";
  }
  return "?";
}

Json to_json_value(Parameterization kind) { return to_string(kind); }

void read_json_value(const Json& value, const std::string& what, Parameterization& out) {
  if (!value.is_string()) throw_json_type_error(value, what, "a string");
  out = parse_parameterization(value.get<std::string>());
}

torch::Tensor vp_sigma(const PrecondOptions& o, const torch::Tensor& t) {
  return torch::sqrt(torch::exp(0.5 * o.beta_d * t.square() + o.beta_min * t) - 1);
}

torch::Tensor vp_sigma_inverse(const PrecondOptions& o, const torch::Tensor& sigma) {
  // Solves ½β_d t² + β_min t = ln(1 + σ²) for t ≥ 0.
  return (torch::sqrt(o.beta_min * o.beta_min + 2 * o.beta_d * torch::log1p(sigma.square())) - o.beta_min) / o.beta_d;
}

torch::Tensor rf_time(const torch::Tensor& sigma) { return sigma / (1 + sigma); }
torch::Tensor rf_sigma(const torch::Tensor& t) { return t / (1 - t); }

torch::Tensor denoised_from_velocity(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& velocity) {
  return x_t - t * velocity;
}

torch::Tensor velocity_from_denoised(const torch::Tensor& x_t, const torch::Tensor& t, const torch::Tensor& denoised) {
  return (x_t - denoised) / t;
}

Coefficients coefficients(const PrecondOptions& o, const torch::Tensor& sigma) {
  const torch::Tensor one = torch::ones_like(sigma);
  switch (o.kind) {
    case Parameterization::edm: {
      const double sd2 = o.sigma_data * o.sigma_data;
      const torch::Tensor total = sigma.square() + sd2;
      return {sd2 / total, sigma * o.sigma_data / total.sqrt(), total.rsqrt(), 0.25 * sigma.log()};
    }
    case Parameterization::vp:
      return {one, -sigma, (sigma.square() + 1).rsqrt(), (o.vp_m - 1) * vp_sigma_inverse(o, sigma)};
    case Parameterization::ve: return {one, sigma, one, (0.5 * sigma).log()};
    case Parameterization::rf: return {1 / (1 + sigma), -sigma / (1 + sigma), 1 / (1 + sigma), rf_time(sigma)};
  }
  throw Error("unknown parameterization", ErrorKind::runtime);
}

torch::Tensor denoise(const PrecondOptions& options, const Network& network, const torch::Tensor& x,
                      const torch::Tensor& sigma, const torch::Tensor& labels) {
  const int64_t batch = x.size(0);
  const torch::Tensor s = sigma.dim() == 0 ? sigma.expand({batch}) : sigma;
  const Coefficients c = coefficients(options, s.to(torch::kDouble));
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[0] = batch;
  auto per_example = [&](const torch::Tensor& v) { return v.view(shape).to(x.scalar_type()); };
  const torch::Tensor f = network(x * per_example(c.c_in), c.c_noise.to(x.scalar_type()), labels);
  return per_example(c.c_skip) * x + per_example(c.c_out) * f.to(x.scalar_type());
}

}  // namespace zoo::diffusion
