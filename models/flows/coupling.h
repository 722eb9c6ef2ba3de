#pragma once
// Coupling layers: the kept part x₁ passes through, the changed part x₂ is transformed
// with parameters computed from x₁ alone, so the inverse needs no inverse network.
//   additive (NICE)    y₂ = x₂ + t(x₁)                      log|det| = 0
//   affine (RealNVP)   y₂ = x₂ ⊙ exp(s) + t, s = c ⊙ tanh(h)  log|det| = Σ s
//   affine (Glow)      y₂ = x₂ ⊙ σ(h + 2) + t                 log|det| = Σ log σ(h + 2)
// Both affine scales are bounded, which keeps training from diverging through exp.
#include <string>

#include "models/flows/conditioner.h"
#include "models/flows/partition.h"
#include "models/flows/transform.h"

namespace zoo::flows {

struct CouplingOptions {
  std::string kind = "affine";        // additive or affine
  std::string scale = "sigmoid";      // affine: sigmoid (Glow) or tanh (RealNVP)
  std::string partition = "channel";  // halves, odd_even, channel, checkerboard
  bool swap = false;                  // exchange the kept and changed sets
  ConditionerOptions net;             // its in/out/image are set from the shape
};

class CouplingImpl : public TransformImpl {
 public:
  // `shape` of one example: [D] or [C, H, W].
  CouplingImpl(const std::vector<int64_t>& shape, CouplingOptions options);
  FlowResult forward(const torch::Tensor& x) override;
  FlowResult inverse(const torch::Tensor& y) override;
  torch::Tensor invert(const torch::Tensor& y) override;

 private:
  // x from y and the parameters (computed from y's kept part, which is x's).
  torch::Tensor undo(const torch::Tensor& y, const torch::Tensor& shift, const torch::Tensor& log_scale);
  // (shift, log-scale) of the changed part, from the kept part; log-scale undefined for
  // additive couplings.
  std::pair<torch::Tensor, torch::Tensor> parameters(const torch::Tensor& x);

  CouplingOptions options_;
  Partition partition_;
  std::shared_ptr<ConditionerImpl> net_;
  torch::Tensor tanh_scale_;  // RealNVP's c, per changed channel
};

}  // namespace zoo::flows
