// zoo's Adam and AdamW with multi-tensor updates against LibTorch's own, step for step.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "train/adam.h"

namespace {

std::vector<torch::Tensor> fresh_parameters() {
  torch::manual_seed(3);
  return {torch::randn({4, 3}).requires_grad_(), torch::randn({4}).requires_grad_(), torch::randn({2, 4}).requires_grad_()};
}

// Gradients of a small network's loss. The last parameter joins only from step 2 on, so
// parameters reach the update with different step counts (and so bias corrections).
void backward(const std::vector<torch::Tensor>& p, int64_t step) {
  for (const torch::Tensor& t : p) t.mutable_grad() = torch::Tensor();
  torch::manual_seed(100 + step);
  const torch::Tensor h = torch::tanh(torch::linear(torch::randn({8, 3}), p[0], p[1]));
  torch::Tensor loss = h.pow(2).sum();
  if (step >= 2) loss = loss + torch::linear(h, p[2]).pow(3).sum();
  loss.backward();
}

// Six steps: four multi-tensor steps of zoo's optimizer, then two of LibTorch's update on
// the same object (so its state must be where LibTorch looks for it), against six steps of
// LibTorch's optimizer alone.
template <typename Zoo, typename Reference, typename Options>
void expect_identical_steps(const Options& options) {
  std::vector<torch::Tensor> ours = fresh_parameters(), theirs = fresh_parameters();
  Zoo zoo(ours, options, /*foreach=*/true);
  Reference reference(theirs, options);
  for (int64_t step = 0; step < 6; ++step) {
    backward(ours, step);
    backward(theirs, step);
    if (step < 4)
      zoo.step();
    else
      zoo.Reference::step();  // LibTorch's per-tensor update
    reference.step();
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(torch::equal(ours[i], theirs[i])) << (ours[i] - theirs[i]).abs().max().item<double>();
  }
  EXPECT_FALSE(torch::equal(ours[2], fresh_parameters()[2]));  // the late parameter was updated
}

}  // namespace

TEST(Adam, ForeachUpdateEqualsLibTorchsAdamWithL2WeightDecay) {
  expect_identical_steps<zoo::train::Adam, torch::optim::Adam>(torch::optim::AdamOptions(0.05).weight_decay(0.1));
}

TEST(Adam, ForeachUpdateEqualsLibTorchsAdamW) {
  expect_identical_steps<zoo::train::AdamW, torch::optim::AdamW>(
      torch::optim::AdamWOptions(0.05).weight_decay(0.2).betas({0.8, 0.95}).eps(1e-6));
}
