#include "models/nn/reparam.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace zoo::models {

torch::Tensor gaussian_reparameterize(const torch::Tensor& mean, const torch::Tensor& log_variance,
                                      const torch::Tensor& epsilon) {
  return mean + torch::exp(0.5 * log_variance) * (epsilon.defined() ? epsilon : torch::randn_like(mean));
}

torch::Tensor gaussian_kl(const torch::Tensor& mean, const torch::Tensor& log_variance) {
  return (0.5 * (log_variance.exp() + mean.pow(2) - 1 - log_variance)).flatten(1).sum(1);
}

torch::Tensor score_function_surrogate(const torch::Tensor& log_prob, const torch::Tensor& f, double baseline) {
  return (f.detach() - baseline) * log_prob;
}

torch::Tensor gumbel_noise_from_uniform(const torch::Tensor& u) {
  // U in (0, 1): the smallest float avoids log(0) at either end.
  const double tiny = std::numeric_limits<float>::min();
  return -torch::log(-torch::log(u.clamp(tiny, 1.0 - 1e-7)));
}

torch::Tensor gumbel_noise(const torch::Tensor& like) { return gumbel_noise_from_uniform(torch::rand_like(like)); }

torch::Tensor gumbel_max(const torch::Tensor& logits, const torch::Tensor& gumbel) {
  return (logits + (gumbel.defined() ? gumbel : gumbel_noise(logits))).argmax(-1);
}

torch::Tensor gumbel_softmax(const torch::Tensor& logits, double temperature, bool hard, const torch::Tensor& gumbel) {
  if (!(temperature > 0)) throw Error("gumbel_softmax: the temperature must be positive", ErrorKind::usage);
  const torch::Tensor g = gumbel.defined() ? gumbel : gumbel_noise(logits);
  const torch::Tensor soft = torch::softmax((logits + g) / temperature, -1);
  if (!hard) return soft;
  const torch::Tensor one_hot = torch::zeros_like(soft).scatter_(-1, soft.argmax(-1, /*keepdim=*/true), 1.0);
  // soft − soft.detach() is exactly zero forward, so the sum is exactly one-hot; backward
  // it carries the relaxation's gradient.
  return one_hot + (soft - soft.detach());
}

double TemperatureSchedule::at(int64_t step) const {
  return std::max(minimum, initial * std::exp(-rate * static_cast<double>(step)));
}

}  // namespace zoo::models
