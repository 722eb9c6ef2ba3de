#pragma once
// Base distributions of the flows, over flattened vectors z [B, D]. log_prob sums over the
// D dimensions; sample draws with a temperature T (the standard deviation, or scale,
// multiplied by T, as in Glow's sampling).
//   standard_normal   N(0, I)
//   logistic          NICE's prior: independent standard logistics
//   diagonal_gaussian N(μ, diag σ²) with learned μ and log σ, starting at N(0, I) (Glow's
//                     learned prior)
#include <torch/torch.h>

#include <memory>
#include <string>

namespace zoo::flows {

class DistributionImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor log_prob(const torch::Tensor& z) = 0;
  // `n` draws at temperature T from LibTorch's default generator (seeded by the caller).
  virtual torch::Tensor sample(int64_t n, double temperature, const torch::TensorOptions& options) = 0;
};
using DistributionPtr = std::shared_ptr<DistributionImpl>;

DistributionPtr make_distribution(const std::string& name, int64_t dimensions);
const std::vector<std::string>& distribution_names();

}  // namespace zoo::flows
