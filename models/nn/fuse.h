#pragma once
// Inference-time folding of BatchNorm into the convolution before it. In eval a BatchNorm
// is an affine map per channel, y = γ·(x − μ)/√(σ² + ε) + β, so with s = γ/√(σ² + ε) it
// merges into the convolution: w' = w·s (per output channel), b' = β + (b − μ)·s. One
// layer instead of two, and the same outputs up to rounding.
#include <torch/torch.h>

namespace zoo::models {

struct FoldedConv {
  torch::Tensor weight, bias;
};

// The folded weight and bias (computed in double, returned in the weight's dtype). `bias`
// may be undefined (a convolution without one); the norm may be non-affine.
FoldedConv fold_batch_norm(const torch::Tensor& weight, const torch::Tensor& bias,
                           const torch::nn::BatchNorm2dImpl& norm);

// Fuses every ConvNormActivation (models/nn/conv_norm_activation.h) in the module tree;
// returns how many were fused. Any model built from those units can be fused; a plain
// Conv2d followed by a BatchNorm2d elsewhere is left alone (its parent's forward would
// still call the BatchNorm).
int64_t fuse_conv_norm(torch::nn::Module& model);

// fuse_conv_norm, then eval mode (fused units no longer track batch statistics), and
// optionally to_channels_last. The state_dict changes: norms disappear and convolutions
// gain biases.
void fuse_for_inference(torch::nn::Module& model, bool channels_last = false);

// Stores every 4-D parameter and buffer channels-last (NHWC). A convolution whose weight is
// channels-last returns channels-last outputs (oneDNN on the CPU, cuDNN on CUDA), so the
// whole network then runs in NHWC, which oneDNN's depthwise and 1×1 convolutions are much
// faster in: an EfficientNet trains about twice as fast on this machine's CPU. Gradients
// and optimiser state follow the parameters' layout; values and the state_dict do not
// change. Convert before making the optimiser.
void to_channels_last(torch::nn::Module& model);

}  // namespace zoo::models
