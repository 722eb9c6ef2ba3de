#include "models/nn/squeeze_excitation.h"

#include "core/autocast.h"

namespace zoo::models {

SqueezeExcitationImpl::SqueezeExcitationImpl(const SqueezeExcitationOptions& options_) : options(options_) { reset(); }

void SqueezeExcitationImpl::reset() {
  fc1 = register_module("fc1",
                        torch::nn::Conv2d(torch::nn::Conv2dOptions(options.channels(), options.squeeze_channels(), 1)));
  activation = register_module("activation", Activation(options.activation(), options.squeeze_channels()));
  fc2 = register_module("fc2",
                        torch::nn::Conv2d(torch::nn::Conv2dOptions(options.squeeze_channels(), options.channels(), 1)));
}

torch::Tensor SqueezeExcitationImpl::scale(const torch::Tensor& input) {
  // fc1 and fc2 see one pixel per image: matrix products on the pooled [N, C] vectors, the same
  // sums as the 1×1 convolutions without their per-call setup (weights [out, in, 1, 1] viewed
  // as [out, in]).
  // Under CPU autocast (bf16 inference) these few numbers stay in the weights' precision.
  const CpuAutocastOff float32;
  // (The mean as a sum in the input's own dtype, then a division: ATen's bfloat16 mean first
  // copies its whole input to float32.)
  torch::Tensor s =
      input.sum({2, 3}).to(fc1->weight.scalar_type()) / static_cast<double>(input.size(2) * input.size(3));
  s = activation->forward(torch::linear(s, fc1->weight.flatten(1), fc1->bias));
  s = torch::sigmoid(torch::linear(s, fc2->weight.flatten(1), fc2->bias));
  return s.to(input.scalar_type()).view({s.size(0), s.size(1), 1, 1});
}

torch::Tensor SqueezeExcitationImpl::forward(const torch::Tensor& input) { return input * scale(input); }

torch::Tensor SqueezeExcitationImpl::forward_in_place(torch::Tensor input) { return input.mul_(scale(input)); }

}  // namespace zoo::models
