#include "train/sample_metrics.h"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"

namespace zoo::train {

namespace {

void check_sets(const torch::Tensor& a, const torch::Tensor& b, int64_t minimum, const char* what) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(1))
    throw Error(std::string(what) + ": expected two sets [N, D] of the same D, got " + c10::str(a.sizes()) + " and " +
                    c10::str(b.sizes()),
                ErrorKind::input);
  if (a.size(0) < minimum || b.size(0) < minimum)
    throw Error(std::string(what) + ": needs at least " + std::to_string(minimum) + " examples in each set",
                ErrorKind::input);
}

// Quantiles at n evenly spaced levels of each column of sorted values [N, P].
torch::Tensor quantiles(const torch::Tensor& sorted, int64_t n) {
  if (sorted.size(0) == n) return sorted;
  const torch::Tensor index =
      ((torch::arange(n, torch::kDouble) + 0.5) * (static_cast<double>(sorted.size(0)) / static_cast<double>(n)))
          .floor()
          .to(torch::kLong);
  return sorted.index_select(0, index);
}

torch::Tensor covariance(const torch::Tensor& x) {
  const torch::Tensor centred = x - x.mean(0);
  return torch::matmul(centred.t(), centred) / static_cast<double>(x.size(0) - 1);
}

// The square root of a symmetric positive semi-definite matrix.
torch::Tensor sqrtm_psd(const torch::Tensor& m) {
  const auto [values, vectors] = torch::linalg_eigh(m, "L");
  return torch::matmul(vectors * values.clamp_min(0).sqrt(), vectors.t());
}

}  // namespace

double sliced_wasserstein(const torch::Tensor& a, const torch::Tensor& b, int64_t projections, uint64_t seed) {
  check_sets(a, b, 1, "sliced Wasserstein distance");
  torch::Generator generator = at::detail::createCPUGenerator(seed);
  torch::Tensor directions = torch::randn({a.size(1), projections}, generator, torch::kDouble);
  directions = directions / directions.norm(2, 0, true);
  const int64_t n = std::min(a.size(0), b.size(0));
  const torch::Tensor pa = quantiles(std::get<0>(torch::matmul(a.to(torch::kDouble).cpu(), directions).sort(0)), n);
  const torch::Tensor pb = quantiles(std::get<0>(torch::matmul(b.to(torch::kDouble).cpu(), directions).sort(0)), n);
  return std::sqrt((pa - pb).square().mean().item<double>());
}

double frechet_distance(const torch::Tensor& a, const torch::Tensor& b) {
  check_sets(a, b, 2, "Fréchet distance");
  const torch::Tensor x = a.to(torch::kDouble).cpu(), y = b.to(torch::kDouble).cpu();
  const torch::Tensor cov_x = covariance(x), cov_y = covariance(y);
  const torch::Tensor root_x = sqrtm_psd(cov_x);
  const torch::Tensor middle = torch::matmul(torch::matmul(root_x, cov_y), root_x);
  const torch::Tensor eigenvalues = torch::linalg_eigvalsh(0.5 * (middle + middle.t()), "L");
  const double cross = eigenvalues.clamp_min(0).sqrt().sum().item<double>();
  const double mean_term = (x.mean(0) - y.mean(0)).square().sum().item<double>();
  return std::max(0.0, mean_term + cov_x.trace().item<double>() + cov_y.trace().item<double>() - 2 * cross);
}

}  // namespace zoo::train
