#pragma once
// TensorFlow's "SAME" padding: the output has ceil(i / s) pixels per dimension, and the
// padding that needs, max((ceil(i/s) − 1)·s + (k − 1)·d + 1 − i, 0), is split with the odd
// pixel on the right/bottom. Unlike PyTorch's symmetric (k − 1)/2 it depends on the input
// size, so it is computed at every call. Weights trained in TensorFlow need it.
#include <torch/torch.h>

namespace zoo::models {

// Total padding for one spatial dimension of size `size`.
int64_t same_padding_amount(int64_t size, int64_t kernel, int64_t stride, int64_t dilation = 1);

// Zero-pads the last two dimensions of an [N, C, H, W] tensor; returns it unchanged when
// no padding is needed.
torch::Tensor pad_same(const torch::Tensor& input, int64_t kernel, int64_t stride, int64_t dilation = 1);

}  // namespace zoo::models
