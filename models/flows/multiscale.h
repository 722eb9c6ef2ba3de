#pragma once
// The multi-scale architecture of RealNVP and Glow as one transform: after every level but
// the last, half of the channels are factored out (they go straight to the output and are
// kept for the inverse), and only the other half flows on. The output is the flattened
// concatenation of every factored part and the last level's output, so the whole stack
// maps an image to a vector z of the same size.
//
// With a learned split prior (Glow) the factored half z₂ is modelled as
// N(μ(z₁), σ(z₁)²) given the kept half z₁; written as the transform (z₂ − μ)/σ with
// log|det| = −Σ log σ, the base distribution stays N(0, I). A learned top prior does the
// same for the last level's output with per-channel μ and σ.
#include <vector>

#include "models/flows/transform.h"

namespace zoo::flows {

struct MultiScaleOptions {
  bool split_prior = false;  // Glow's learned conditional prior on each factored half
  bool top_prior = false;    // Glow's learned prior on the last level's output
};

class MultiScaleImpl : public TransformImpl {
 public:
  // levels[i] maps the (kept) input of level i to an image of shape level_shapes[i]
  // ([C, H, W], C even for every level but the last).
  MultiScaleImpl(std::vector<TransformPtr> levels, std::vector<std::vector<int64_t>> level_shapes,
                 MultiScaleOptions options);
  FlowResult forward(const torch::Tensor& x) override;
  FlowResult inverse(const torch::Tensor& z) override;
  torch::Tensor invert(const torch::Tensor& z) override;

 private:
  // inverse, with the log-det only when `log_det` (else it is left undefined).
  FlowResult run_inverse(const torch::Tensor& z, bool log_det);
  // (μ, log σ) of a factored half given the kept half, or of the top level.
  std::pair<torch::Tensor, torch::Tensor> split_prior(size_t level, const torch::Tensor& kept);
  std::pair<torch::Tensor, torch::Tensor> top_prior() const;

  std::vector<TransformPtr> levels_;
  std::vector<std::vector<int64_t>> shapes_;
  MultiScaleOptions options_;
  std::vector<torch::nn::Conv2d> priors_;
  torch::Tensor top_mean_, top_log_std_;
};

}  // namespace zoo::flows
