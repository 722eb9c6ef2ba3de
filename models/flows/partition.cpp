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
    p.conditioner_channels_ = p.changed_channels_ = shape[0];
    return p;
  }
  const int64_t n = shape[0];
  if (n < 2) throw Error("partition " + kind + ": needs at least 2 " + (image ? "channels" : "features"), ErrorKind::usage);
  torch::Tensor first, second;
  if ((kind == "halves" && !image) || (kind == "channel" && image)) {
    first = torch::arange(n / 2);
    second = torch::arange(n / 2, n);
  } else if (kind == "odd_even" && !image) {
    first = torch::arange(0, n, 2);
    second = torch::arange(1, n, 2);
  } else {
    throw Error("partition " + kind + ": expected " + (image ? "channel or checkerboard for images" : "halves or odd_even for vectors"),
                ErrorKind::usage);
  }
  p.keep_ = swap ? second : first;
  p.change_ = swap ? first : second;
  p.conditioner_channels_ = p.keep_.size(0);
  p.changed_channels_ = p.change_.size(0);
  return p;
}

torch::Tensor Partition::conditioner_input(const torch::Tensor& x) const {
  if (mask_.defined()) return x * mask_.to(x.options());
  return x.index_select(1, keep_.to(x.device()));
}

torch::Tensor Partition::changed(const torch::Tensor& x) const {
  if (mask_.defined()) return x;
  return x.index_select(1, change_.to(x.device()));
}

torch::Tensor Partition::merge(const torch::Tensor& x, const torch::Tensor& values) const {
  if (mask_.defined()) {
    const torch::Tensor m = mask_.to(x.options());
    return x * m + values * (1 - m);
  }
  return x.index_copy(1, change_.to(x.device()), values);
}

torch::Tensor Partition::sum_changed(const torch::Tensor& per_element) const {
  if (mask_.defined()) return (per_element * (1 - mask_.to(per_element.options()))).flatten(1).sum(1);
  return per_element.flatten(1).sum(1);
}

}  // namespace zoo::flows
