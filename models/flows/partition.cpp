#include "models/flows/partition.h"

#include "core/error.h"

namespace zoo::flows {

Partition Partition::make(const std::string& kind, const std::vector<int64_t>& shape, bool swap) {
  const bool image = shape.size() == 3;
  if (shape.size() != 1 && !image) throw Error("partition: expected vector [D] or image [C, H, W] shape", ErrorKind::usage);
  Partition p;
  if (kind == "checkerboard") {
    if (!image) throw Error("partition checkerboard needs images [C, H, W]", ErrorKind::usage);
    const torch::Tensor h = torch::arange(shape[1]).view({-1, 1}), w = torch::arange(shape[2]).view({1, -1});
    p.mask_ = ((h + w).remainder(2) == (swap ? 1 : 0)).to(torch::kFloat).view({1, 1, shape[1], shape[2]});
    p.unmask_ = 1 - p.mask_;
    p.keep_ = p.change_ = Slice{0, shape[0], 1};  // the conditioner sees all channels, masked
    return p;
  }
  const int64_t n = shape[0];
  if (n < 2) throw Error("partition " + kind + ": needs at least 2 " + (image ? "channels" : "features"), ErrorKind::usage);
  Slice first, second;
  if ((kind == "halves" && !image) || (kind == "channel" && image)) {
    first = {0, n / 2, 1};
    second = {n / 2, n, 1};
  } else if (kind == "odd_even" && !image) {
    first = {0, n, 2};
    second = {1, n, 2};
  } else {
    throw Error("partition " + kind + ": expected " + (image ? "channel or checkerboard for images" : "halves or odd_even for vectors"),
                ErrorKind::usage);
  }
  p.keep_ = swap ? second : first;
  p.change_ = swap ? first : second;
  return p;
}

void Partition::follow(const torch::Tensor& x) const {
  if (mask_.device() == x.device() && mask_.scalar_type() == x.scalar_type()) return;
  mask_ = mask_.to(x.options());
  unmask_ = unmask_.to(x.options());
}

torch::Tensor Partition::conditioner_input(const torch::Tensor& x) const {
  if (!mask_.defined()) return keep_.of(x);
  follow(x);
  return x * mask_;
}

torch::Tensor Partition::changed(const torch::Tensor& x) const {
  if (mask_.defined()) return x;
  return change_.of(x);
}

torch::Tensor Partition::merge(const torch::Tensor& x, const torch::Tensor& values) const {
  if (!mask_.defined()) return torch::slice_scatter(x, values, 1, change_.start, change_.end, change_.step);
  follow(x);
  // One kernel, and exact where the mask is 0 or 1 (lerp evaluates from the nearer end).
  return torch::lerp(values, x, mask_);
}

torch::Tensor Partition::sum_changed(const torch::Tensor& per_element) const {
  if (!mask_.defined()) return per_element.flatten(1).sum(1);
  follow(per_element);
  return (per_element * unmask_).flatten(1).sum(1);
}

}  // namespace zoo::flows
