#pragma once
// Which elements a coupling layer leaves alone (and conditions on) and which it changes.
// Two kinds, as in the papers:
//   index partitions split one dimension into two index sets: vector halves or odd/even
//     indices (NICE, 2-D data), and image channel halves (RealNVP's channel mask, Glow);
//   mask partitions keep the shape and multiply by a 0/1 mask: RealNVP's spatial
//     checkerboard, whose conditioner must see the image with the changed pixels zeroed.
#include <torch/torch.h>

#include <string>

namespace zoo::flows {

class Partition {
 public:
  // Vector features [B, D]: "halves" (first ⌊D/2⌋ condition) or "odd_even" (even indices
  // condition); images [B, C, H, W]: "channel" (first ⌊C/2⌋ channels condition) or
  // "checkerboard" ((h + w) even conditions). `swap` exchanges the two sets.
  static Partition make(const std::string& kind, const std::vector<int64_t>& shape, bool swap);

  // What the conditioner network sees.
  torch::Tensor conditioner_input(const torch::Tensor& x) const;
  // The elements the coupling changes (index partition: the second set; mask partition: x).
  torch::Tensor changed(const torch::Tensor& x) const;
  // x with its changed elements replaced by `values` (shaped like changed(x)).
  torch::Tensor merge(const torch::Tensor& x, const torch::Tensor& values) const;
  // Per-example sum of a per-element log-scale over the changed elements only.
  torch::Tensor sum_changed(const torch::Tensor& per_element) const;

  int64_t conditioner_channels() const { return conditioner_channels_; }
  int64_t changed_channels() const { return changed_channels_; }

 private:
  // Moves the indices or masks to x's device (and the masks to its dtype) when they differ:
  // once, not on every call, where each move to a GPU would be a synchronous copy.
  void follow(const torch::Tensor& x) const;

  mutable torch::Tensor keep_, change_;  // index partition: int64 indices along dim 1
  mutable torch::Tensor mask_, unmask_;  // mask partition: 1 where kept (and where changed), [1, 1, H, W]
  int64_t conditioner_channels_ = 0, changed_channels_ = 0;
};

}  // namespace zoo::flows
