#include "models/nn/squeeze_excitation.h"

namespace zoo::models {

SqueezeExcitationImpl::SqueezeExcitationImpl(const SqueezeExcitationOptions& options_) : options(options_) { reset(); }

void SqueezeExcitationImpl::reset() {
  fc1 = register_module("fc1",
                        torch::nn::Conv2d(torch::nn::Conv2dOptions(options.channels(), options.squeeze_channels(), 1)));
  activation = register_module("activation", Activation(options.activation(), options.squeeze_channels()));
  fc2 = register_module("fc2",
                        torch::nn::Conv2d(torch::nn::Conv2dOptions(options.squeeze_channels(), options.channels(), 1)));
}

torch::Tensor SqueezeExcitationImpl::forward(const torch::Tensor& input) {
  torch::Tensor scale = torch::adaptive_avg_pool2d(input, {1, 1});
  scale = activation->forward(fc1->forward(scale));
  scale = torch::sigmoid(fc2->forward(scale));
  return input * scale;
}

}  // namespace zoo::models
