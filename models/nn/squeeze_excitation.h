#pragma once
// Squeeze-and-excitation (Hu et al. 2018): global average pool, a 1×1 convolution down to
// a few channels, activation (child "activation"), a 1×1 convolution back up, sigmoid, and the input scaled by
// the result per channel. Children "fc1" and "fc2" are Conv2d 1×1 with bias, as in
// torchvision's SqueezeExcitation, so the state_dict keys match.
#include <torch/torch.h>

#include "models/nn/conv_norm_activation.h"

namespace zoo::models {

struct SqueezeExcitationOptions {
  SqueezeExcitationOptions(int64_t channels, int64_t squeeze_channels)
      : channels_(channels), squeeze_channels_(squeeze_channels) {}
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, squeeze_channels);
  TORCH_ARG(std::string, activation) = "silu";  // torchvision's default is ReLU; EfficientNet uses SiLU
};

class SqueezeExcitationImpl : public torch::nn::Cloneable<SqueezeExcitationImpl> {
 public:
  explicit SqueezeExcitationImpl(const SqueezeExcitationOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& input);
  // The same, scaling input itself: for a caller that owns it and needs no gradient.
  torch::Tensor forward_in_place(torch::Tensor input);

  SqueezeExcitationOptions options;
  torch::nn::Conv2d fc1{nullptr}, fc2{nullptr};
  Activation activation{nullptr};

 private:
  torch::Tensor scale(const torch::Tensor& input);  // [N, C, 1, 1] in (0, 1)
};
TORCH_MODULE(SqueezeExcitation);

}  // namespace zoo::models
