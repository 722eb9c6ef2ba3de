#pragma once
// Glow's invertible 1×1 convolution: the same C×C matrix W mixes the channels at every
// position (for vectors, an invertible linear map), log|det| = H·W·log|det W|. Initialised
// as a random rotation. The LU form W = P·L·(U + diag(sign(s)·exp(log|s|))) keeps P fixed
// and makes the log-det Σ log|s|, O(C) instead of O(C³).
#include <vector>

#include "models/flows/transform.h"

namespace zoo::flows {

class InvertibleConv1x1Impl : public TransformImpl {
 public:
  InvertibleConv1x1Impl(const std::vector<int64_t>& shape, bool lu);
  FlowResult forward(const torch::Tensor& x) override;
  FlowResult inverse(const torch::Tensor& y) override;
  torch::Tensor invert(const torch::Tensor& y) override;
  torch::Tensor weight() const;  // W, [C, C]

 private:
  struct Factors {
    torch::Tensor p, l, u;  // W = P·L·U
  };
  Factors factors() const;               // LU form only
  torch::Tensor inverse_weight() const;  // W⁻¹ in float64
  torch::Tensor log_abs_det() const;
  static torch::Tensor mix(const torch::Tensor& x, const torch::Tensor& w);  // W applied per position

  bool lu_;
  torch::Tensor weight_;                                        // plain
  torch::Tensor permutation_, lower_, upper_, log_s_, sign_s_;  // LU
};

}  // namespace zoo::flows
