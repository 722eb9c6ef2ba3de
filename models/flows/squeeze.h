#pragma once
// Squeeze (RealNVP, Glow): each 2×2 block of pixels becomes 4 channels, [C, H, W] →
// [4C, H/2, W/2]; a permutation, so log|det| = 0. Its inverse is the unsqueeze.
#include "models/flows/transform.h"

namespace zoo::flows {

torch::Tensor squeeze2x2(const torch::Tensor& x);
torch::Tensor unsqueeze2x2(const torch::Tensor& y);

class SqueezeImpl : public TransformImpl {
 public:
  FlowResult forward(const torch::Tensor& x) override;
  FlowResult inverse(const torch::Tensor& y) override;
};

}  // namespace zoo::flows
