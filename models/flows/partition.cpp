#include "models/flows/partition.h"

#include "core/error.h"

namespace zoo::flows {

Partition Partition::make(const std::string& kind, const std::vector<int64_t>& shape, bool swap) {
  const bool image = shape.size() == 3;
  if (shape.size() != 1 && !image)
    throw Error("partition: expected vector [D] or image [C, H, W] shape", ErrorKind::usage);
  Partition p;
  if (kind == "checkerboard") {
    if (!image) throw Error("partition checkerboard needs images [C, H, W]", ErrorKind::usage);
    const torch::Tensor h = torch::arange(shape[1]).view({-1, 1}), w = torch::arange(shape[2]).view({1, -1});
    p.mask_ = ((h + w).remainder(2) == (swap ? 1 : 0)).to(torch::kFloat).view({1, 1, shape[1], shape[2]});
    p.unmask_ = 1 - p.mask_;
    p.conditioner_channels_ = p.changed_channels_ = shape[0];
    return p;
  }
  const int64_t n = shape[0];
  if (n < 2)
    throw Error("partition " + kind + ": needs at least 2 " + (image ? "channels" : "features"), ErrorKind::usage);
  torch::Tensor first, second;
  if ((kind == "halves" && !image) || (kind == "channel" && image)) {
    first = torch::arange(n / 2);
    second = torch::arange(n / 2, n);
  } else if (kind == "odd_even" && !image) {
    first = torch::arange(0, n, 2);
    second = torch::arange(1, n, 2);
  } else {
    throw Error("partition " + kind + ": expected " +
                    (image ? "channel or checkerboard for images" : "halves or odd_even for vectors"),
                ErrorKind::usage);
  }
  p.keep_ = swap ? second : first;
  p.change_ = swap ? first : second;
  p.conditioner_channels_ = p.keep_.size(0);
  p.changed_channels_ = p.change_.size(0);
  return p;
}

void Partition::follow(const torch::Tensor& x) const {
  if (mask_.defined()) {
    if (mask_.device() == x.device() && mask_.scalar_type() == x.scalar_type()) return;
    mask_ = mask_.to(x.options());
    unmask_ = unmask_.to(x.options());
  } else if (keep_.device() != x.device()) {
    keep_ = keep_.to(x.device());
    change_ = change_.to(x.device());
  }
}

torch::Tensor Partition::conditioner_input(const torch::Tensor& x) const {
  follow(x);
  return mask_.defined() ? x * mask_ : x.index_select(1, keep_);
}

torch::Tensor Partition::changed(const torch::Tensor& x) const {
  if (mask_.defined()) return x;
  follow(x);
  return x.index_select(1, change_);
}

torch::Tensor Partition::merge(const torch::Tensor& x, const torch::Tensor& values) const {
  follow(x);
  // One kernel, and exact where the mask is 0 or 1 (lerp evaluates from the nearer end).
  return mask_.defined() ? torch::lerp(values, x, mask_) : x.index_copy(1, change_, values);
}

torch::Tensor Partition::sum_changed(const torch::Tensor& per_element) const {
  if (!mask_.defined()) return per_element.flatten(1).sum(1);
  follow(per_element);
  return (per_element * unmask_).flatten(1).sum(1);
}

}  // namespace zoo::flows
