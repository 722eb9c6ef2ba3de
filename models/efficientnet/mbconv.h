#pragma once
// EfficientNet's two inverted-residual blocks, as torchvision builds them. Both keep their
// layers in a Sequential child named "block" (so keys read "block.<i>.<0 conv|1 norm>") and
// a "stochastic_depth" child; the residual connection exists only when stride is 1 and
// the channels are unchanged, and stochastic depth applies only to blocks that have it.
//
//   MBConv       block.0 1×1 expand (omitted when expanded == in, i.e. expand ratio 1)
//                block.1 k×k depthwise, stride s
//                block.2 squeeze-excitation, squeeze width max(1, in // 4)
//                block.3 1×1 project, no activation
//   FusedMBConv  block.0 k×k full convolution to the expanded width, stride s
//                block.1 1×1 project, no activation
//                (expand ratio 1: a single k×k convolution with activation, block.0)
#include <torch/torch.h>

#include "models/efficientnet/stochastic_depth.h"

namespace zoo::models {

struct MBConvOptions {
  MBConvOptions(int64_t in_channels, int64_t out_channels, double expand_ratio, int64_t kernel_size, int64_t stride)
      : in_channels_(in_channels),
        out_channels_(out_channels),
        expand_ratio_(expand_ratio),
        kernel_size_(kernel_size),
        stride_(stride) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(double, expand_ratio);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, stride);
  TORCH_ARG(double, stochastic_depth_prob) = 0.0;
  TORCH_ARG(double, norm_eps) = 1e-5;
  TORCH_ARG(double, norm_momentum) = 0.1;
  TORCH_ARG(bool, same_padding) = false;
  TORCH_ARG(std::string, activation) = "silu";  // of the expansion, depthwise and SE units
};

// make_divisible(in · expand_ratio, 8), torchvision's expanded width.
int64_t expanded_channels(const MBConvOptions& options);
// stride 1 and in == out.
bool has_residual(const MBConvOptions& options);

class MBConvImpl : public torch::nn::Cloneable<MBConvImpl> {
 public:
  explicit MBConvImpl(const MBConvOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& input);

  MBConvOptions options;
  torch::nn::Sequential block{nullptr};
  StochasticDepth stochastic_depth{nullptr};
};
TORCH_MODULE(MBConv);

class FusedMBConvImpl : public torch::nn::Cloneable<FusedMBConvImpl> {
 public:
  explicit FusedMBConvImpl(const MBConvOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& input);

  MBConvOptions options;
  torch::nn::Sequential block{nullptr};
  StochasticDepth stochastic_depth{nullptr};
};
TORCH_MODULE(FusedMBConv);

}  // namespace zoo::models
