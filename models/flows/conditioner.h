#pragma once
// The networks inside coupling layers: they see the kept part and return the parameters
// (shift, and for affine couplings the raw log-scale) of the changed part. The last layer
// starts at zero so every coupling starts as the identity.
//   mlp       NICE's m: `layers` hidden ReLU layers (or options.activation) of `hidden` units (vectors)
//   resnet    RealNVP's s/t networks: residual blocks with batch norm (conv for images,
//             linear for vectors)
//   glow      Glow's NN(): conv3×3, ReLU, conv1×1, ReLU, zero-initialised conv3×3 (for
//             vectors: the same with linear layers)
#include <torch/torch.h>

#include <memory>
#include <string>

namespace zoo::flows {

struct ConditionerOptions {
  std::string kind = "mlp";  // mlp, resnet or glow
  int64_t in = 1, out = 1;   // features or channels
  int64_t hidden = 64;
  int64_t layers = 2;  // mlp: hidden layers; resnet: residual blocks
  bool image = false;
  std::string activation = "relu";  // of the hidden layers (models/nn/activations.h)
};

class ConditionerImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

std::shared_ptr<ConditionerImpl> make_conditioner(const ConditionerOptions& options);

}  // namespace zoo::flows
