#include "models/flows/squeeze.h"

#include "core/error.h"

namespace zoo::flows {

torch::Tensor squeeze2x2(const torch::Tensor& x) {
  if (x.dim() != 4 || x.size(2) % 2 != 0 || x.size(3) % 2 != 0)
    throw Error("squeeze: expected images [B, C, H, W] with even H and W, got " + c10::str(x.sizes()),
                ErrorKind::usage);
  // Channel c·4 + 2i + j holds pixel (2h + i, 2w + j) of channel c, as RealNVP and Glow order it.
  return torch::pixel_unshuffle(x, 2);
}

torch::Tensor unsqueeze2x2(const torch::Tensor& y) { return torch::pixel_shuffle(y, 2); }

FlowResult SqueezeImpl::forward(const torch::Tensor& x) {
  return {squeeze2x2(x), torch::zeros({x.size(0)}, x.options())};
}

FlowResult SqueezeImpl::inverse(const torch::Tensor& y) {
  return {unsqueeze2x2(y), torch::zeros({y.size(0)}, y.options())};
}

}  // namespace zoo::flows
