// zoo's Adam and AdamW (multi-tensor and fused updates) against LibTorch's own, step for step.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "core/error.h"
#include "train/adam.h"

namespace {

using zoo::train::AdamKernel;

std::vector<torch::Tensor> fresh_parameters(torch::ScalarType type = torch::kFloat) {
  torch::manual_seed(3);
  const auto o = torch::TensorOptions(type);
  return {torch::randn({4, 3}, o).requires_grad_(), torch::randn({4}, o).requires_grad_(),
          torch::randn({2, 4}, o).requires_grad_()};
}

// Gradients of a small network's loss. The last parameter joins only from step 2 on, so
// parameters reach the update with different step counts (and so bias corrections).
void backward(const std::vector<torch::Tensor>& p, int64_t step) {
  for (const torch::Tensor& t : p) t.mutable_grad() = torch::Tensor();
  torch::manual_seed(100 + step);
  const torch::Tensor h = torch::tanh(torch::linear(torch::randn({8, 3}, p[0].options()), p[0], p[1]));
  torch::Tensor loss = h.pow(2).sum();
  if (step >= 2) loss = loss + torch::linear(h, p[2]).pow(3).sum();
  loss.backward();
}

// Six steps: four of zoo's update with `kernel`, then two of LibTorch's update on the same
// object (so its state must be where and as LibTorch keeps it), against six steps of
// LibTorch's optimizer alone. foreach must match bit for bit; fused to float rounding
// (a step moves a weight by about lr = 0.05, so a wrong term shows at 1e-3 or more).
template <typename Zoo, typename Reference, typename Options>
void expect_same_steps(const Options& options, AdamKernel kernel, torch::ScalarType type = torch::kFloat) {
  std::vector<torch::Tensor> ours = fresh_parameters(type), theirs = fresh_parameters(type);
  Zoo zoo(ours, options, kernel);
  Reference reference(theirs, options);
  for (int64_t step = 0; step < 6; ++step) {
    backward(ours, step);
    backward(theirs, step);
    if (step < 4) {
      zoo.step();
      EXPECT_EQ(zoo.last_kernel(), kernel);
    } else {
      zoo.Reference::step();  // LibTorch's per-tensor update
    }
    reference.step();
  }
  const double tolerance = type == torch::kDouble ? 1e-13 : 1e-6;
  for (size_t i = 0; i < ours.size(); ++i) {
    SCOPED_TRACE(i);
    const double difference = (ours[i] - theirs[i]).abs().max().item<double>();
    if (kernel == AdamKernel::foreach)
      EXPECT_TRUE(torch::equal(ours[i], theirs[i])) << difference;
    else
      EXPECT_LE(difference, tolerance);
  }
  EXPECT_FALSE(torch::equal(ours[2], fresh_parameters(type)[2]));  // the late parameter was updated
}

}  // namespace

TEST(Adam, ForeachUpdateEqualsLibTorchsAdamWithL2WeightDecay) {
  expect_same_steps<zoo::train::Adam, torch::optim::Adam>(torch::optim::AdamOptions(0.05).weight_decay(0.1),
                                                          AdamKernel::foreach);
}

TEST(Adam, ForeachUpdateEqualsLibTorchsAdamW) {
  expect_same_steps<zoo::train::AdamW, torch::optim::AdamW>(
      torch::optim::AdamWOptions(0.05).weight_decay(0.2).betas({0.8, 0.95}).eps(1e-6), AdamKernel::foreach);
}

TEST(Adam, FusedUpdateMatchesLibTorchsAdamWithL2WeightDecay) {
  expect_same_steps<zoo::train::Adam, torch::optim::Adam>(torch::optim::AdamOptions(0.05).weight_decay(0.1),
                                                          AdamKernel::fused);
}

TEST(Adam, FusedUpdateMatchesLibTorchsAdamW) {
  expect_same_steps<zoo::train::AdamW, torch::optim::AdamW>(
      torch::optim::AdamWOptions(0.05).weight_decay(0.2).betas({0.8, 0.95}).eps(1e-6), AdamKernel::fused);
}

TEST(Adam, FusedUpdateMatchesLibTorchsAmsgradInDouble) {
  expect_same_steps<zoo::train::Adam, torch::optim::Adam>(torch::optim::AdamOptions(0.05).amsgrad(true),
                                                          AdamKernel::fused, torch::kDouble);
  expect_same_steps<zoo::train::AdamW, torch::optim::AdamW>(torch::optim::AdamWOptions(0.05).amsgrad(true),
                                                            AdamKernel::fused, torch::kDouble);
}

// A channels-last weight whose gradient and loaded state come in the default layout: the
// fused loop walks memory, so each must be brought to the weight's layout first.
TEST(Adam, FusedUpdateFollowsTheParametersMemoryLayout) {
  torch::manual_seed(5);
  const torch::Tensor start = torch::randn({3, 2, 2, 2});
  const torch::Tensor grad = torch::randn({3, 2, 2, 2});
  torch::Tensor ours = start.contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_();
  torch::Tensor theirs = start.clone().requires_grad_();
  ASSERT_NE(ours.strides(), theirs.strides());
  const auto options = torch::optim::AdamWOptions(0.05).weight_decay(0.1);
  zoo::train::AdamW zoo({ours}, options, AdamKernel::fused);
  torch::optim::AdamW reference({theirs}, options);
  for (int step = 0; step < 3; ++step) {
    ours.mutable_grad() = (grad * (step + 1)).contiguous();  // default layout, unlike the weight
    theirs.mutable_grad() = grad * (step + 1);
    zoo.step();
    reference.step();
  }
  EXPECT_LE((ours - theirs).abs().max().item<double>(), 1e-6);
  EXPECT_GT((ours - start).abs().max().item<double>(), 0.1);
}

TEST(Adam, ChoosesFusedOnTheCpuAndLibTorchsUpdateForSparseGradients) {
  std::vector<torch::Tensor> p = fresh_parameters();
  zoo::train::Adam automatic(p, torch::optim::AdamOptions(0.01));
  backward(p, 3);
  automatic.step();
  EXPECT_EQ(automatic.last_kernel(), AdamKernel::fused);

  torch::Tensor table = torch::randn({5, 2}).requires_grad_();
  torch::nn::functional::embedding(torch::tensor({1, 3}), table,
                                   torch::nn::functional::EmbeddingFuncOptions().sparse(true))
      .sum()
      .backward();
  ASSERT_TRUE(table.grad().is_sparse());
  zoo::train::Adam sparse({table}, torch::optim::AdamOptions(0.01));
  EXPECT_THROW(sparse.step(), c10::Error);  // LibTorch's own message: Adam has no sparse update
  EXPECT_EQ(sparse.last_kernel(), AdamKernel::per_tensor);
}

// Every second column of a matrix: not one dense block, so not for the fused loop.
TEST(Adam, FusedRefusesTensorsItCannotUpdate) {
  torch::Tensor strided = torch::randn({4, 6}).slice(1, 0, 6, 2).requires_grad_();
  ASSERT_FALSE(strided.is_non_overlapping_and_dense());
  strided.mutable_grad() = torch::ones({4, 3});
  zoo::train::Adam fused({strided}, torch::optim::AdamOptions(0.01), AdamKernel::fused);
  EXPECT_THROW(fused.step(), zoo::Error);
  zoo::train::Adam automatic({strided}, torch::optim::AdamOptions(0.01));
  EXPECT_NO_THROW(automatic.step());
  EXPECT_EQ(automatic.last_kernel(), AdamKernel::per_tensor);
}

// Whatever caches a function of the weights (autograd's saved tensors, the packed
// convolutions of models/nn/packed_conv.h) learns of a change from the version counter, which
// the fused loop, writing through a raw pointer, must bump itself.
TEST(Adam, EveryKernelBumpsTheWeightsVersion) {
  for (AdamKernel kernel : {AdamKernel::per_tensor, AdamKernel::foreach, AdamKernel::fused}) {
    torch::Tensor weight = torch::randn({4, 3}).requires_grad_();
    weight.mutable_grad() = torch::randn({4, 3});
    zoo::train::Adam adam({weight}, torch::optim::AdamOptions(0.1), kernel);
    const int64_t before = weight._version();
    adam.step();
    ASSERT_EQ(adam.last_kernel(), kernel);
    EXPECT_GT(weight._version(), before) << static_cast<int>(kernel);
  }
}
