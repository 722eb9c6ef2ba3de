#include "models/diffusion/loss.h"

#include <cmath>

#include "core/error.h"
#include "core/seed.h"
#include "models/diffusion/schedule.h"

namespace zoo::diffusion {

namespace {

torch::Tensor per_example(const torch::Tensor& v, const torch::Tensor& like) {
  std::vector<int64_t> shape(static_cast<size_t>(like.dim()), 1);
  shape[0] = like.size(0);
  return v.view(shape).to(like.scalar_type());
}

}  // namespace

torch::Tensor draw_sigma(const LossOptions& loss, const PrecondOptions& precond, int64_t n,
                         const torch::Device& device) {
  return sigma_from_uniform(loss, precond, torch::rand({n}, torch::TensorOptions(torch::kFloat).device(device)));
}

torch::Tensor sigma_from_uniform(const LossOptions& loss, const PrecondOptions& precond, const torch::Tensor& uniform) {
  const torch::Tensor u = uniform.clamp(1e-6, 1 - 1e-6);
  const auto normal = [&] { return std::sqrt(2.0) * torch::erfinv(2 * u - 1); };
  switch (loss.objective) {
    case Parameterization::edm: return (normal() * loss.p_std + loss.p_mean).exp();
    case Parameterization::vp: return vp_sigma(precond, 1 + u * (loss.vp_epsilon_t - 1));
    case Parameterization::ve: return loss.ve_sigma_min * torch::pow(loss.ve_sigma_max / loss.ve_sigma_min, u);
    case Parameterization::rf: {
      torch::Tensor t;
      if (loss.rf_time == "uniform")
        t = u;
      else if (loss.rf_time == "logit_normal")
        t = torch::sigmoid(normal());
      else
        throw Error("rf time sampling '" + loss.rf_time + "': expected uniform or logit_normal", ErrorKind::usage);
      return rf_sigma(t);
    }
  }
  throw Error("unknown objective", ErrorKind::runtime);
}

torch::Tensor loss_weight(const LossOptions& loss, const PrecondOptions& precond, const torch::Tensor& sigma) {
  switch (loss.objective) {
    case Parameterization::edm: {
      const double sd = precond.sigma_data;
      return (sigma.square() + sd * sd) / (sigma * sd).square();
    }
    case Parameterization::vp:
    case Parameterization::ve: return 1 / sigma.square();
    case Parameterization::rf: return 1 / rf_time(sigma).square();
  }
  throw Error("unknown objective", ErrorKind::runtime);
}

torch::Tensor diffusion_loss(const LossOptions& loss, const PrecondOptions& precond, const Network& network,
                             const torch::Tensor& y, const torch::Tensor& noise, const torch::Tensor& sigma,
                             const torch::Tensor& labels) {
  if (noise.sizes() != y.sizes()) throw Error("diffusion loss: noise and data differ in shape", ErrorKind::runtime);
  torch::Tensor error;
  if (loss.objective == Parameterization::rf) {
    // x_t = (1 − t)·y + t·n; F(x_t, t) should be the velocity n − y.
    const torch::Tensor t = rf_time(sigma);
    const torch::Tensor x_t = (1 - per_example(t, y)) * y + per_example(t, y) * noise;
    error = network(x_t, t.to(y.scalar_type()), labels) - (noise - y);
  } else {
    const torch::Tensor denoised = denoise(precond, network, y + per_example(sigma, y) * noise, sigma, labels);
    error = per_example(loss_weight(loss, precond, sigma).sqrt(), y) * (denoised - y);
  }
  return error.square().flatten(1).mean(1).mean();
}

DiffusionLoss::DiffusionLoss(LossOptions options, PrecondOptions precond, uint64_t seed)
    : options_(std::move(options)), precond_(precond), seed_(seed) {
  const int64_t k = options_.distill_steps;
  if (k < 0) throw Error("distillation steps must be 0 or positive", ErrorKind::usage);
  if (k > 0 && options_.objective != Parameterization::rf)
    throw Error("distillation into a K-step sampler trains a rectified flow (objective rf)", ErrorKind::usage);
  if (k > 0) distill_sigmas_ = make_sigmas(default_schedule("rf", k)).slice(0, 0, k).to(torch::kFloat);
}

torch::Tensor DiffusionLoss::operator()(const Network& network, const torch::Tensor& y, const torch::Tensor& indices,
                                        int64_t step, const torch::Tensor& labels, const torch::Tensor& noise) const {
  const uint64_t step_seed = derive_seed(seed_, static_cast<uint64_t>(Stream::noise), static_cast<uint64_t>(step));
  const torch::Tensor u = indexed_rand({}, step_seed, Stream::level, indices, y.device());
  const torch::Tensor n =
      noise.defined()
          ? noise
          : indexed_randn(y.sizes().slice(1), step_seed, Stream::noise, indices, y.device()).to(y.scalar_type());
  const int64_t k = options_.distill_steps;
  const torch::Tensor sigma =
      k > 0 ? distill_sigmas_.to(y.device()).index_select(0, (u * k).floor().to(torch::kLong).clamp_max(k - 1))
            : sigma_from_uniform(options_, precond_, u);
  return diffusion_loss(options_, precond_, network, y, n, sigma, labels);
}

}  // namespace zoo::diffusion
