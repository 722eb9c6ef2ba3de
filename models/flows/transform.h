#pragma once
// The one interface of every normalizing-flow layer (as in nflows): forward maps data
// toward the base distribution and returns (output, log|det ∂output/∂input|) per example;
// inverse maps back and returns (input, log|det ∂input/∂output|), the negative of the
// forward log-det at the same point. A sequence of transforms is itself a transform.
#include <torch/torch.h>

#include <memory>
#include <vector>

namespace zoo::flows {

struct FlowResult {
  torch::Tensor output;
  torch::Tensor log_det;  // [B]
};

class TransformImpl : public torch::nn::Module {
 public:
  virtual FlowResult forward(const torch::Tensor& x) = 0;
  virtual FlowResult inverse(const torch::Tensor& y) = 0;
  // inverse's output alone, for sampling: layers whose log-det costs work skip it.
  virtual torch::Tensor invert(const torch::Tensor& y) { return inverse(y).output; }
};
using TransformPtr = std::shared_ptr<TransformImpl>;

// Sums a per-element log-det [B, ...] into one number per example [B].
torch::Tensor sum_per_example(const torch::Tensor& per_element);
// A log-det that is the same for every example: `value` (a 0-dim tensor) repeated B times.
torch::Tensor same_for_batch(const torch::Tensor& value, int64_t batch);

// H·W for images [B, C, H, W], 1 for vectors [B, D]: how many times a per-channel
// log-scale counts in an example's log-det.
int64_t positions(const torch::Tensor& x);

// Applies its transforms in order (and inverts them in reverse order).
class SequentialTransformImpl : public TransformImpl {
 public:
  explicit SequentialTransformImpl(std::vector<TransformPtr> transforms);
  FlowResult forward(const torch::Tensor& x) override;
  FlowResult inverse(const torch::Tensor& y) override;
  torch::Tensor invert(const torch::Tensor& y) override;
  const std::vector<TransformPtr>& transforms() const { return transforms_; }

 private:
  std::vector<TransformPtr> transforms_;
};

}  // namespace zoo::flows
