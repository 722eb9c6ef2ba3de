// The oneDNN inference convolution (models/nn/packed_conv.h) against the same convolution in
// float64, and the units that use it against their ATen path.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/autocast.h"
#include "core/error.h"
#include "models/efficientnet/efficientnet.h"
#include "models/efficientnet/mbconv.h"
#include "models/nn/conv_norm_activation.h"
#include "models/nn/packed_conv.h"
#include "support/test_support.h"
#include "zoo/build_config.h"

#if ZOO_HAVE_ONEDNN
namespace zoo::models {
namespace {

constexpr double kUnit = 5.9604644775390625e-08;  // 2^-24, float32's unit roundoff
constexpr double kBf16Unit = 0.00390625;          // 2^-8, bfloat16's

struct Case {
  int64_t in, out, kernel, stride, padding, dilation, groups;
  std::string activation;
  bool addend;
};

const Case kCases[] = {
    {8, 16, 3, 1, 1, 1, 1, "silu", false},     // a full 3×3 convolution
    {16, 16, 5, 2, 2, 1, 16, "silu", false},   // depthwise, stride 2
    {12, 8, 1, 1, 0, 1, 1, "identity", true},  // a projection with its residual
    {8, 6, 3, 2, 2, 2, 2, "relu", false},      // grouped, dilated
    {3, 32, 3, 2, 1, 1, 1, "silu", true},      // a stem (NCHW input, converted)
};

// How far a result may be from the float64 one. A dot product of K terms computed in float32,
// in any order, is within K·u·Σ|wᵢxᵢ| of the exact one (Higham, Accuracy and Stability of
// Numerical Algorithms, §3.1); SiLU's slope is at most 1.1, and its own evaluation adds a
// relative error of a few u (16u allowed: oneDNN evaluates e^x with a polynomial); the addend
// one rounding more. In bfloat16 the inputs and weights are bfloat16 (the float64 reference
// takes the same rounded values), their products are exact in float32, which accumulates them
// and runs bias and post-ops as above; the output's one rounding to bfloat16 adds 2⁻⁸|result|.
torch::Tensor error_bound(const Case& c, const torch::Tensor& magnitude, const torch::Tensor& pre_activation,
                          const torch::Tensor& result, bool bf16) {
  const double terms = static_cast<double>(c.in / c.groups * c.kernel * c.kernel + 1);
  return 1.1 * terms * kUnit * magnitude + 16 * kUnit * pre_activation.abs() +
         (2 * kUnit + (bf16 ? kBf16Unit : 0)) * result.abs();
}

// Every case in float32, or in bfloat16 (inputs given in float32 under CPU autocast, as a
// network's first convolution sees them, or already in bfloat16).
void expect_within_rounding(bool bf16) {
  torch::manual_seed(0);
  for (const Case& c : kCases) {
    auto rounded = [&](const torch::Tensor& t) { return bf16 ? t.to(torch::kBFloat16).to(torch::kFloat) : t; };
    const torch::Tensor weight = torch::randn({c.out, c.in / c.groups, c.kernel, c.kernel});
    const torch::Tensor bias = torch::randn({c.out});
    PackedConv conv(weight, bias,
                    PackedConvOptions()
                        .stride(c.stride)
                        .padding(c.padding)
                        .dilation(c.dilation)
                        .groups(c.groups)
                        .activation(c.activation));
    const torch::Tensor x = rounded(torch::randn({3, c.in, 13, 11}));
    const torch::Tensor input = c.in == 3 ? x : x.contiguous(torch::MemoryFormat::ChannelsLast);
    auto exact = [&](const torch::Tensor& a, const torch::Tensor& w, const torch::Tensor& b) {
      return torch::conv2d(a.to(torch::kDouble), rounded(w).to(torch::kDouble), b.to(torch::kDouble), c.stride,
                           c.padding, c.dilation, c.groups);
    };
    const torch::Tensor pre = exact(x, weight, bias);
    const torch::Tensor addend = c.addend ? rounded(torch::randn(pre.sizes())) : torch::Tensor();
    torch::Tensor expected = c.activation == "silu"   ? torch::silu(pre)
                             : c.activation == "relu" ? torch::relu(pre)
                                                      : pre;
    if (c.addend) expected = expected + addend.to(torch::kDouble);

    auto run = [&] {
      const torch::Tensor given_addend = c.addend ? addend.contiguous(torch::MemoryFormat::ChannelsLast) : addend;
      if (!bf16) return conv.forward(input, given_addend);
      if (c.addend) return conv.forward(input.to(torch::kBFloat16), given_addend.to(torch::kBFloat16));
      const AutocastGuard autocast(true, torch::kCPU);
      return conv.forward(input);
    };
    const torch::Tensor got = run();
    ASSERT_EQ(got.sizes(), expected.sizes()) << c.in << "->" << c.out;
    EXPECT_EQ(got.scalar_type(), bf16 ? torch::kBFloat16 : torch::kFloat);
    EXPECT_TRUE(got.is_contiguous(torch::MemoryFormat::ChannelsLast));
    const torch::Tensor bound = error_bound(c, exact(x.abs(), weight.abs(), bias.abs()), pre, expected, bf16);
    const torch::Tensor excess = (got.to(torch::kDouble) - expected).abs() - bound;
    EXPECT_LE(excess.max().item<double>(), 0.0) << c.in << "->" << c.out << " kernel " << c.kernel << " groups "
                                                << c.groups << " " << c.activation << (bf16 ? " bf16" : "");
    // The same call again reuses the plan and gives the same bits.
    EXPECT_TRUE(run().equal(got));
  }
}

TEST(PackedConv, EqualsTheConvolutionInDoubleWithinFloatRounding) { expect_within_rounding(false); }

// On a CPU without bfloat16 arithmetic the bfloat16 path refuses, and so does --precision bf16.
TEST(PackedConv, RunsInBfloat16WhereTheCpuCanAndRefusesWhereItCannot) {
  if (cpu_has_bf16()) {
    expect_within_rounding(true);
    EXPECT_TRUE(inference_autocast_for("bf16", torch::kCPU));
  } else {
    PackedConv conv(torch::randn({4, 2, 3, 3}), torch::zeros({4}), PackedConvOptions().padding(1));
    EXPECT_TRUE(test::throws_error_with(
        [&] {
          conv.forward(torch::randn({1, 2, 8, 8}, torch::kBFloat16));
        },
        {"bfloat16 needs a CPU with bfloat16 arithmetic"}));
    EXPECT_TRUE(test::throws_error_with([] { inference_autocast_for("bf16", torch::kCPU); },
                                        {"--precision bf16: this CPU has no bfloat16 arithmetic"}));
  }
  EXPECT_FALSE(inference_autocast_for("fp32", torch::kCPU));
  EXPECT_TRUE(inference_autocast_for("bf16", torch::Device(torch::kCUDA, 0)));
  EXPECT_TRUE(test::throws_error_with([] { inference_autocast_for("fp16", torch::kCPU); }, {"expected fp32 or bf16"}));
}

TEST(PackedConv, RefusesWhatItCannotRun) {
  PackedConv conv(torch::randn({4, 2, 3, 3}), torch::zeros({4}), PackedConvOptions().padding(1));
  EXPECT_TRUE(test::throws_error_with(
      [&] {
        conv.forward(torch::randn({1, 3, 8, 8}));
      },
      {"input has 3 channels, the weights expect 2"}));
  EXPECT_TRUE(test::throws_error_with(
      [&] {
        conv.forward(torch::randn({1, 2, 8, 8}), torch::randn({1, 4, 7, 8}));
      },
      {"addend must be a float32 or bfloat16 tensor of the output's shape"}));
  EXPECT_FALSE(PackedConv::accepts(torch::randn({1, 2, 8, 8}, torch::kDouble)));
  EXPECT_FALSE(PackedConv::fuses("gelu"));
  EXPECT_TRUE(test::throws_error_with(
      [] {
        PackedConv(torch::randn({4, 2, 3, 3}), torch::zeros({4}), PackedConvOptions().activation("gelu"));
      },
      {"cannot fuse activation gelu"}));
}

TEST(PackedConv, UnitsTakeItOnlyForInferenceAndFollowTheirWeights) {
  torch::manual_seed(1);
  ConvNormActivation unit(ConvNormActivationOptions(6, 10, 3).groups(2));
  test::randomize_batch_norms(*unit);
  unit->eval();
  const torch::Tensor x = torch::randn({2, 6, 9, 9});
  // With autograd the ATen path runs (the packed convolution has no backward).
  const torch::Tensor aten = unit(x);
  ASSERT_TRUE(aten.requires_grad());
  aten.sum().backward();
  EXPECT_TRUE(unit->conv->weight.grad().defined());
  torch::NoGradGuard no_grad;
  const torch::Tensor packed = unit(x);
  EXPECT_TRUE(packed.is_contiguous(torch::MemoryFormat::ChannelsLast)) << "the oneDNN path ran";
  // Folding the norm and fusing the activation change only the rounding (one unit: a few u
  // relative, far below 1e-5; a wrong fold or padding would be of order 1).
  EXPECT_LE(test::relative_error(packed, aten.detach()), 1e-5);

  // A changed weight or statistic is seen at once: the packed weights are rebuilt.
  unit->conv->weight.mul_(-2);
  unit->norm->running_var.mul_(3);
  const torch::Tensor changed = unit(x);
  torch::Tensor reference;
  {
    torch::AutoGradMode with_grad(true);
    reference = unit(x).detach();
  }
  EXPECT_LE(test::relative_error(changed, reference), 1e-5);
  EXPECT_GT(test::relative_error(changed, packed), 0.1);

  // A unit made under InferenceMode (its weights then have no version counter) runs too.
  {
    c10::InferenceMode inference;
    ConvNormActivation made_there(ConvNormActivationOptions(6, 4, 1));
    made_there->eval();
    EXPECT_TRUE(made_there(x).is_contiguous(torch::MemoryFormat::ChannelsLast));
  }

  // In training mode (batch statistics) it never runs.
  unit->train();
  EXPECT_FALSE(unit(x).is_contiguous(torch::MemoryFormat::ChannelsLast));
}

TEST(PackedConv, ResidualBlocksAndNetworksEqualTheirATenPath) {
  torch::manual_seed(2);
  MBConv block(MBConvOptions(16, 16, 6, 3, 1).stochastic_depth_prob(0.2));
  test::randomize_batch_norms(*block);
  block->eval();
  const torch::Tensor x = torch::randn({2, 16, 10, 10});
  const torch::Tensor aten = block(x).detach();
  {
    torch::NoGradGuard no_grad;
    EXPECT_LE(test::relative_error(block(x), aten), 1e-5);
  }
  EfficientNet net(efficientnet_b0().num_classes(10));
  test::randomize_batch_norms(*net);
  net->eval();
  const torch::Tensor image = torch::randn({2, 3, 64, 64});
  const torch::Tensor expected = net->forward(image).detach();
  torch::NoGradGuard no_grad;
  // Rounding differences of ~u per layer, over B0's 81 convolutions.
  EXPECT_LE(test::relative_error(net->forward(image), expected), 1e-5);
}

// B0 under CPU autocast: logits (from a float32 head) near float32's. Each of its 81 convolutions rounds its
// output to bfloat16 (relative 2⁻⁸); independent roundings add like a random walk, √81·2⁻⁸ ≈
// 0.035, for layers that BatchNorm keeps from amplifying, and the pooled features round once
// more before the float32 head: 0.04.
// (Measured: 0.005; a convolution computing in the wrong precision or layout is off by order 1.)
TEST(PackedConv, NetworksRunInBfloat16UnderCpuAutocast) {
  torch::manual_seed(3);
  EfficientNet net(efficientnet_b0().num_classes(10));
  test::randomize_batch_norms(*net);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor image = torch::randn({4, 3, 64, 64});
  const torch::Tensor expected = net->forward(image);
  const AutocastGuard autocast(true, torch::kCPU);
  if (!cpu_has_bf16()) {
    EXPECT_TRUE(test::throws_error_with([&] { net->forward(image); }, {"bfloat16 needs a CPU"}));
    return;
  }
  const torch::Tensor got = net->forward(image);
  EXPECT_EQ(got.scalar_type(), torch::kFloat);
  EXPECT_LE(test::relative_error(got, expected), 0.04);
}

}  // namespace
}  // namespace zoo::models

#else
namespace zoo::models {
namespace {

// Built with ZOO_WITH_ONEDNN=OFF (scripts/gpu_check.sh): no input takes the packed path, so
// units in inference run ATen's convolutions, and bfloat16 CPU inference is refused.
TEST(PackedConv, WithoutOneDnnEveryConvolutionRunsThroughATen) {
  EXPECT_FALSE(PackedConv::accepts(torch::randn({1, 2, 8, 8})));
  EXPECT_TRUE(test::throws_error_with(
      [] {
        PackedConv(torch::randn({4, 2, 3, 3}), torch::zeros({4}), PackedConvOptions());
      },
      {"without oneDNN"}));
  ConvNormActivation unit(ConvNormActivationOptions(2, 4, 3));
  unit->eval();
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(unit(torch::randn({1, 2, 8, 8})).is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(test::throws_error_with([] { inference_autocast_for("bf16", torch::kCPU); }, {"no bfloat16 arithmetic"}));
}

}  // namespace
}  // namespace zoo::models
#endif
