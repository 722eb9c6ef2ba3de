#include "models/nn/same_padding.h"

#include <algorithm>

namespace zoo::models {

int64_t same_padding_amount(int64_t size, int64_t kernel, int64_t stride, int64_t dilation) {
  const int64_t out = (size + stride - 1) / stride;  // ceil(size / stride)
  return std::max<int64_t>((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
}

torch::Tensor pad_same(const torch::Tensor& input, int64_t kernel, int64_t stride, int64_t dilation) {
  const int64_t pad_h = same_padding_amount(input.size(-2), kernel, stride, dilation);
  const int64_t pad_w = same_padding_amount(input.size(-1), kernel, stride, dilation);
  if (pad_h == 0 && pad_w == 0) return input;
  // F::pad takes (left, right, top, bottom) for the last two dimensions.
  return torch::nn::functional::pad(
      input, torch::nn::functional::PadFuncOptions({pad_w / 2, pad_w - pad_w / 2, pad_h / 2, pad_h - pad_h / 2}));
}

}  // namespace zoo::models
