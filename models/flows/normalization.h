#pragma once
// Per-channel affine layers of the flows. For images every spatial position shares its
// channel's parameters, so each log-det is H·W times the per-channel sum.
//   DiagonalScaling (NICE)  y = x ⊙ exp(s)
//   ActNorm (Glow)          y = (x + b) ⊙ exp(s), b and s set from the first training
//                           batch so that each channel has zero mean and unit variance
//   FlowBatchNorm (RealNVP) y = (x − μ)/√(σ² + ε) ⊙ exp(log γ) + β with the batch's
//                           statistics in training and running averages otherwise
#include <vector>

#include "models/flows/transform.h"

namespace zoo::flows {

class DiagonalScalingImpl : public TransformImpl {
 public:
  explicit DiagonalScalingImpl(const std::vector<int64_t>& shape);
  FlowResult forward(const torch::Tensor& x) override;
  FlowResult inverse(const torch::Tensor& y) override;
  torch::Tensor invert(const torch::Tensor& y) override;

 private:
  torch::Tensor log_scale_;
};

class ActNormImpl : public TransformImpl {
 public:
  explicit ActNormImpl(const std::vector<int64_t>& shape);
  FlowResult forward(const torch::Tensor& x) override;
  FlowResult inverse(const torch::Tensor& y) override;
  torch::Tensor invert(const torch::Tensor& y) override;
  bool initialized() const { return initialized_.item<bool>(); }

 private:
  torch::Tensor bias_, log_scale_, initialized_;
};

class FlowBatchNormImpl : public TransformImpl {
 public:
  explicit FlowBatchNormImpl(const std::vector<int64_t>& shape, double momentum = 0.05, double eps = 1e-4);
  FlowResult forward(const torch::Tensor& x) override;
  FlowResult inverse(const torch::Tensor& y) override;
  torch::Tensor invert(const torch::Tensor& y) override;

 private:
  torch::Tensor eval_log_scale() const;  // with the running statistics

  torch::Tensor log_gamma_, beta_, running_mean_, running_var_;
  double momentum_, eps_;
};

// [1, C] or [1, C, 1, 1]: a per-channel parameter broadcast over an example of `shape`.
std::vector<int64_t> per_channel_shape(const std::vector<int64_t>& shape);

}  // namespace zoo::flows
