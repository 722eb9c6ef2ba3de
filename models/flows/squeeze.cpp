#include "models/flows/squeeze.h"

#include "core/error.h"

namespace zoo::flows {

torch::Tensor squeeze2x2(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(2) % 2 != 0 || x.size(3) % 2 != 0)
    throw Error("squeeze: expected images [B, C, H, W] with even H and W, got " + c10::str(x.sizes()), ErrorKind::usage);
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  return x.view({b, c, h / 2, 2, w / 2, 2}).permute({0, 1, 3, 5, 2, 4}).reshape({b, 4 * c, h / 2, w / 2});
}

torch::Tensor unsqueeze2x2(const torch::Tensor& y) {
  const int64_t b = y.size(0), c = y.size(1) / 4, h = y.size(2), w = y.size(3);
  return y.view({b, c, 2, 2, h, w}).permute({0, 1, 4, 2, 5, 3}).reshape({b, c, 2 * h, 2 * w});
}

FlowResult SqueezeImpl::forward(const torch::Tensor& x) { return {squeeze2x2(x), torch::zeros({x.size(0)}, x.options())}; }

FlowResult SqueezeImpl::inverse(const torch::Tensor& y) { return {unsqueeze2x2(y), torch::zeros({y.size(0)}, y.options())}; }

}  // namespace zoo::flows
