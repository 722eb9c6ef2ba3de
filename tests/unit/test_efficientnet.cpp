// EfficientNet: torchvision's exact sizes and names, compound scaling, stochastic depth,
// TF "same" padding, BatchNorm folding, and the config's JSON form.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "models/analysis/model_info.h"
#include "models/efficientnet/config.h"
#include "models/efficientnet/efficientnet.h"
#include "models/efficientnet/mbconv.h"
#include "models/efficientnet/stochastic_depth.h"
#include "models/nn/conv_norm_activation.h"
#include "models/nn/fuse.h"
#include "models/nn/same_padding.h"
#include "support/test_support.h"
#include "weights/state_dict.h"

namespace zoo::models {
namespace {

struct Preset {
  const char* name;
  EfficientNetConfig (*make)();
  int64_t params;      // torchvision's, at 1000 classes (REFERENCE.md; v2 from torchvision 0.14.1's weight docs,
                       // checked with /usr/bin/python3 and again by the parity suite)
  double paper_gmacs;  // Tan & Le 2019, Table 2 ("FLOPs" are multiply-adds); 0 where none
};

const Preset kPresets[] = {
    {"b0", efficientnet_b0, 5288548, 0.39},    {"b1", efficientnet_b1, 7794184, 0.70},
    {"b2", efficientnet_b2, 9109994, 1.0},     {"b3", efficientnet_b3, 12233232, 1.8},
    {"b4", efficientnet_b4, 19341616, 4.2},    {"b5", efficientnet_b5, 30389784, 9.9},
    {"b6", efficientnet_b6, 43040704, 19},     {"b7", efficientnet_b7, 66347960, 37},
    {"v2_s", efficientnet_v2_s, 21458488, 0},  {"v2_m", efficientnet_v2_m, 54139356, 0},
    {"v2_l", efficientnet_v2_l, 118515272, 0},
};

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

int64_t macs(EfficientNet& net, int64_t size) {
  return analysis::model_info(*net, [&](const torch::Tensor& x) { return net->forward(x); },
                              {1, net->config().in_channels(), size, size})
      .total_macs;
}

TEST(EfficientNet, ParameterCountsMatchTorchvision) {
  for (const Preset& p : kPresets) {
    EfficientNet net(p.make());
    EXPECT_EQ(count_parameters(*net), p.params) << p.name;
  }
}

TEST(EfficientNet, EveryPresetGivesLogitsAtItsResolution) {
  torch::NoGradGuard no_grad;
  for (const Preset& p : kPresets) {
    EfficientNetConfig config = p.make();
    config.num_classes(7);
    EfficientNet net(config);
    net->eval();
    const int64_t r = config.resolution();
    const torch::Tensor out = net->forward(torch::randn({1, 3, r, r}));
    EXPECT_EQ(out.sizes().vec(), (std::vector<int64_t>{1, 7})) << p.name << " at " << r;
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << p.name;
  }
}

TEST(EfficientNet, MultiplyAddsMatchThePaper) {
  torch::NoGradGuard no_grad;
  for (const Preset& p : kPresets) {
    if (p.paper_gmacs == 0) continue;
    EfficientNet net(p.make());
    const double gmacs = static_cast<double>(macs(net, net->config().resolution())) / 1e9;
    EXPECT_NEAR(gmacs / p.paper_gmacs, 1.0, 0.05) << p.name << ": " << gmacs << "B vs paper " << p.paper_gmacs << "B";
  }
}

TEST(EfficientNet, PresetCoefficientsAndBatchNorm) {
  const EfficientNetConfig b4 = efficientnet_b4(), b5 = efficientnet_b5(), v2s = efficientnet_v2_s();
  EXPECT_EQ(b4.width_mult(), 1.4);
  EXPECT_EQ(b4.depth_mult(), 1.8);
  EXPECT_EQ(b4.resolution(), 380);
  EXPECT_EQ(b4.dropout(), 0.4);
  EXPECT_EQ(b4.norm_eps(), 1e-5);
  EXPECT_EQ(b5.norm_eps(), 1e-3);
  EXPECT_EQ(b5.norm_momentum(), 0.01);
  EXPECT_EQ(v2s.norm_eps(), 1e-3);
  EXPECT_EQ(v2s.norm_momentum(), 0.1);
  EXPECT_EQ(head_channels(v2s), 1280);
  EXPECT_EQ(v2s.stages().front().block, BlockKind::fused_mbconv);

  EfficientNet net(b5);
  const auto* bn = net->named_modules()["features.0.1"]->as<torch::nn::BatchNorm2d>();
  ASSERT_NE(bn, nullptr);
  EXPECT_EQ(bn->options.eps(), 1e-3);
  EXPECT_EQ(bn->options.momentum().value(), 0.01);
}

TEST(EfficientNet, TorchvisionRounding) {
  EXPECT_EQ(make_divisible(32 * 1.1), 32);
  EXPECT_EQ(make_divisible(32 * 1.4), 48);  // int(44.8 + 4) // 8 * 8
  EXPECT_EQ(make_divisible(112 * 1.1), 120);
  EXPECT_EQ(make_divisible(3), 8);          // never below the divisor
  EXPECT_EQ(make_divisible(100, 64), 128);  // 64 < 0.9·100: one step up
  EXPECT_EQ(make_divisible(16 * 6), 96);
  EXPECT_EQ(scale_depth(3, 1.1), 4);  // 3.3000000000000003
  EXPECT_EQ(scale_depth(4, 3.1), 13);
  EXPECT_EQ(scale_depth(1, 1.0), 1);
  EXPECT_EQ(stem_channels(efficientnet_b7()), 64);
  EXPECT_EQ(head_channels(efficientnet_b0()), 1280);
  EXPECT_EQ(head_channels(efficientnet_b2()), 1408);
  EXPECT_EQ(total_blocks(efficientnet_b0()), 16);
  EXPECT_EQ(total_blocks(efficientnet_b7()), 55);
}

TEST(EfficientNet, CompoundScalingFromPhi) {
  // φ → (1.1^φ, 1.2^φ, 224·1.15^φ) → channels (make_divisible) and repeats (ceil), as
  // computed independently in Python from torchvision's rules.
  struct Case {
    double phi;
    int64_t resolution;
    std::vector<int64_t> channels;  // stem, then every stage's output
    std::vector<int64_t> repeats;
  };
  const Case cases[] = {
      {0, 224, {32, 16, 24, 40, 80, 112, 192, 320}, {1, 2, 2, 3, 3, 4, 1}},
      {1, 256, {32, 16, 24, 48, 88, 120, 208, 352}, {2, 3, 3, 4, 4, 5, 2}},
      {2, 296, {40, 24, 32, 48, 96, 136, 232, 384}, {2, 3, 3, 5, 5, 6, 2}},
      {-1, 192, {32, 16, 24, 40, 72, 104, 176, 288}, {1, 2, 2, 3, 3, 4, 1}},
      {-2, 168, {24, 16, 24, 32, 64, 96, 160, 264}, {1, 2, 2, 3, 3, 3, 1}},
  };
  for (const Case& c : cases) {
    const EfficientNetConfig config = efficientnet_config_from_phi(c.phi);
    EXPECT_DOUBLE_EQ(config.width_mult(), std::pow(1.1, c.phi));
    EXPECT_DOUBLE_EQ(config.depth_mult(), std::pow(1.2, c.phi));
    EXPECT_EQ(config.resolution(), c.resolution) << c.phi;
    std::vector<int64_t> channels{stem_channels(config)}, repeats;
    for (const StageConfig& s : scaled_stages(config)) {
      channels.push_back(s.out_channels);
      repeats.push_back(s.repeats);
    }
    EXPECT_EQ(channels, c.channels) << "phi " << c.phi;
    EXPECT_EQ(repeats, c.repeats) << "phi " << c.phi;
  }
  EXPECT_EQ(phi_resolution(-20), 32);  // never below 32
  EXPECT_THROW(efficientnet_config_from_phi(std::nan("")), Error);
}

TEST(EfficientNet, FlopsGrowAboutTwofoldPerPhi) {
  // α·β²·γ² ≈ 1.92: each step of φ about doubles the multiply-adds. Measured here (MACs at
  // each φ's resolution): -2→-1 1.46, -1→0 1.52, 0→1 2.23, 1→2 2.10, 2→3 1.80, 3→4 1.94.
  // Below φ = 0 the ratio falls short of 2 because rounding resists shrinking: channels
  // stay multiples of 8 (and within 10%), and ceil(n·d) keeps every stage's repeats.
  torch::NoGradGuard no_grad;
  auto gmacs_at = [](double phi) {
    EfficientNet net(efficientnet_config_from_phi(phi));
    return static_cast<double>(macs(net, net->config().resolution()));
  };
  std::vector<double> gmacs;
  for (int phi = -2; phi <= 3; ++phi) gmacs.push_back(gmacs_at(phi));
  for (int phi = -1; phi <= 3; ++phi) {
    const double ratio = gmacs[static_cast<size_t>(phi + 2)] / gmacs[static_cast<size_t>(phi + 1)];
    EXPECT_LE(ratio, 2.5) << "phi " << phi - 1 << " -> " << phi;
    EXPECT_GE(ratio, phi >= 1 ? 1.6 : 1.3) << "phi " << phi - 1 << " -> " << phi;
  }
}

TEST(EfficientNet, NegativePhiRunsOnSmallInputs) {
  torch::NoGradGuard no_grad;
  for (double phi : {-1.5, -3.0}) {
    EfficientNetConfig config = efficientnet_config_from_phi(phi);
    config.num_classes(10).in_channels(1);
    EfficientNet net(config);
    net->eval();
    for (int64_t size : {int64_t{16}, int64_t{28}, config.resolution()})
      EXPECT_EQ(net->forward(torch::rand({2, 1, size, size})).sizes().vec(), (std::vector<int64_t>{2, 10}))
          << "phi " << phi << " size " << size;
  }
}

TEST(EfficientNet, TrainingStepGivesFiniteGradientsEverywhere) {
  EfficientNetConfig config = efficientnet_b0();
  config.num_classes(10).in_channels(1);
  EfficientNet net(config);
  net->train();
  const torch::Tensor loss =
      torch::nn::functional::cross_entropy(net->forward(torch::rand({4, 1, 32, 32})), torch::tensor({0, 3, 5, 9}));
  loss.backward();
  for (const auto& p : net->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
}

TEST(EfficientNet, ChannelsLastTrainsLikeTheDefaultLayout) {
  torch::manual_seed(4);
  EfficientNetConfig config = efficientnet_b0();
  config.num_classes(10).in_channels(1).dropout(0).stochastic_depth_prob(0);
  EfficientNet nchw(config), nhwc(config);
  weights::load_state_dict(*nhwc, weights::state_dict(*nchw));
  to_channels_last(*nhwc);
  // The state_dict holds the same values.
  const auto converted = weights::state_dict(*nhwc), original = weights::state_dict(*nchw);
  ASSERT_EQ(converted.size(), original.size());
  for (size_t i = 0; i < converted.size(); ++i) {
    EXPECT_EQ(converted[i].first, original[i].first);
    EXPECT_TRUE(torch::equal(converted[i].second, original[i].second)) << converted[i].first;
  }
  // 16 images at 64×64: training-mode BatchNorm over a few values per channel (4 images at
  // 32×32 end in 1×1 maps) amplifies rounding until the two layouts disagree at 1e-3.
  const torch::Tensor x = torch::rand({16, 1, 64, 64}), labels = torch::arange(16) % 10;
  torch::Tensor loss[2];
  int index = 0;
  for (EfficientNet* net : {&nchw, &nhwc}) {
    (*net)->train();
    loss[index] = torch::nn::functional::cross_entropy((*net)->forward(x), labels);
    loss[index++].backward();
  }
  EXPECT_NEAR(loss[0].item<double>(), loss[1].item<double>(), 1e-4);
  // The stem (one input channel) already computes in NHWC from an NCHW batch.
  EXPECT_EQ(nhwc->features[0]->as<ConvNormActivationImpl>()->forward(x).suggest_memory_format(),
            torch::MemoryFormat::ChannelsLast);
  const auto reference = nchw->named_parameters();
  for (const auto& p : nhwc->named_parameters()) {
    const torch::Tensor& grad = p.value().grad();
    if (p.value().dim() == 4) {  // what LibTorch reads the layout from: the strides
      EXPECT_EQ(p.value().suggest_memory_format(), torch::MemoryFormat::ChannelsLast) << p.key();
      // (squeeze-excitation's [out, in, 1, 1] weights get theirs from a matrix product: NCHW
      // and NHWC are the same bytes there, and the strides may say either)
      EXPECT_TRUE(grad.is_contiguous(torch::MemoryFormat::ChannelsLast)) << p.key();
    }
    const torch::Tensor& expected = reference[p.key()].grad();
    EXPECT_LE((grad - expected).abs().max().item<double>(), 5e-4 * (1 + expected.abs().max().item<double>()))
        << p.key();
  }
}

TEST(EfficientNet, StateDictKeysAreTorchvisions) {
  EfficientNet net(efficientnet_b0());
  const auto sd = weights::state_dict(*net);
  EXPECT_EQ(sd.size(), 360u);
  std::set<std::string> keys;
  for (const auto& item : sd) keys.insert(item.first);
  for (const char* key :
       {"features.0.0.weight", "features.0.1.num_batches_tracked",
        "features.1.0.block.0.0.weight",  // stage 1: depthwise first
        "features.1.0.block.1.fc1.weight", "features.1.0.block.1.fc2.bias", "features.1.0.block.2.1.running_var",
        "features.2.0.block.0.0.weight", "features.2.1.block.3.1.bias", "features.6.3.block.2.fc1.bias",
        "features.8.0.weight", "features.8.1.running_mean", "classifier.1.weight", "classifier.1.bias"})
    EXPECT_TRUE(keys.count(key)) << key;
  EXPECT_FALSE(keys.count("features.0.0.bias"));  // convolutions before a norm have no bias
  EXPECT_EQ(sd.front().first, "features.0.0.weight");
  EXPECT_EQ(sd.back().first, "classifier.1.bias");
}

TEST(EfficientNet, TorchvisionInitialisation) {
  EfficientNet net(efficientnet_b0());
  auto modules = net->named_modules();
  const auto& stem = modules["features.0.0"]->as<torch::nn::Conv2d>()->weight;
  // Kaiming normal, fan-out: std = sqrt(2 / (C_out·k·k)) = sqrt(2 / 288).
  EXPECT_NEAR(stem.std().item<double>(), std::sqrt(2.0 / 288), 0.015);
  const auto* fc = modules["classifier.1"]->as<torch::nn::Linear>();
  EXPECT_LE(fc->weight.abs().max().item<double>(), 1 / std::sqrt(1000.0) + 1e-7);
  EXPECT_EQ(fc->bias.abs().max().item<double>(), 0);
  const auto* bn = modules["features.8.1"]->as<torch::nn::BatchNorm2d>();
  EXPECT_TRUE(torch::all(bn->weight == 1).item<bool>());
  const auto* se = modules["features.1.0.block.1.fc1"]->as<torch::nn::Conv2d>();
  EXPECT_EQ(se->bias.abs().max().item<double>(), 0);
}

TEST(EfficientNet, StochasticDepthDropsWholeSamples) {
  torch::manual_seed(3);
  const double p = 0.3;
  const torch::Tensor x = torch::rand({4000, 3, 2, 2}) + 0.5;
  // Eval (and p = 0): the input itself.
  EXPECT_TRUE(stochastic_depth(x, p, StochasticDepthMode::row, false).is_same(x));
  EXPECT_TRUE(stochastic_depth(x, 0.0, StochasticDepthMode::row, true).is_same(x));

  const torch::Tensor y = stochastic_depth(x, p, StochasticDepthMode::row, true);
  const torch::Tensor ratio = (y / x).reshape({4000, -1});
  const torch::Tensor dropped = (ratio == 0).all(1);
  const torch::Tensor kept = (ratio - 1 / (1 - p)).abs().lt(1e-5).all(1);
  EXPECT_TRUE((dropped | kept).all().item<bool>()) << "every sample is either zeroed or scaled by 1/(1-p)";
  EXPECT_NEAR(dropped.to(torch::kDouble).mean().item<double>(), p, 0.03);

  const torch::Tensor all = stochastic_depth(x, p, StochasticDepthMode::batch, true);
  EXPECT_TRUE(all.eq(0).all().item<bool>() || (all / x - 1 / (1 - p)).abs().lt(1e-5).all().item<bool>());
  EXPECT_TRUE(stochastic_depth(x, 1.0, StochasticDepthMode::row, true).eq(0).all().item<bool>());
  EXPECT_THROW(stochastic_depth(x, 1.5, StochasticDepthMode::row, true), Error);

  StochasticDepth module(p);
  module->eval();
  EXPECT_TRUE(module(x).equal(x));
}

TEST(EfficientNet, StochasticDepthProbabilityGrowsWithDepth) {
  EfficientNet net(efficientnet_b0());  // 16 blocks, p = 0.2 · i / 16
  auto modules = net->named_modules();
  auto prob = [&](const std::string& name) { return modules[name]->as<StochasticDepth>()->options.p(); };
  EXPECT_EQ(prob("features.1.0.stochastic_depth"), 0.0);
  EXPECT_DOUBLE_EQ(prob("features.2.0.stochastic_depth"), 0.2 * 1 / 16);
  EXPECT_DOUBLE_EQ(prob("features.7.0.stochastic_depth"), 0.2 * 15 / 16);
}

TEST(EfficientNet, ResidualBlockIsDeterministicInEvalAndRandomInTraining) {
  torch::manual_seed(0);
  MBConv block(MBConvOptions(16, 16, 6, 3, 1).stochastic_depth_prob(0.5));
  const torch::Tensor x = torch::randn({64, 16, 8, 8});
  block->eval();
  EXPECT_TRUE(block(x).equal(block(x)));
  block->train();
  // With p = 0.5 some samples keep only the skip path: their output is the input.
  const torch::Tensor y = block(x);
  const torch::Tensor identical = (y - x).abs().reshape({64, -1}).amax(1).eq(0);
  const double rate = identical.to(torch::kDouble).mean().item<double>();
  EXPECT_GT(rate, 0.25);
  EXPECT_LT(rate, 0.75);
}

TEST(EfficientNet, SamePaddingMatchesTensorFlow) {
  // pad = max((ceil(i/s) − 1)·s + (k − 1)·d + 1 − i, 0)
  EXPECT_EQ(same_padding_amount(224, 3, 2), 1);
  EXPECT_EQ(same_padding_amount(225, 3, 2), 2);
  EXPECT_EQ(same_padding_amount(224, 5, 1), 4);
  EXPECT_EQ(same_padding_amount(7, 1, 1), 0);
  EXPECT_EQ(same_padding_amount(10, 3, 1, 2), 4);
  const torch::Tensor x = torch::randn({1, 1, 224, 225});
  // Height needs 1 (all at the bottom), width 2 (one each side).
  const torch::Tensor padded = pad_same(x, 3, 2);
  EXPECT_EQ(padded.sizes().vec(), (std::vector<int64_t>{1, 1, 225, 227}));
  EXPECT_TRUE(padded.slice(2, 0, 224).slice(3, 1, 226).equal(x));
  EXPECT_TRUE(padded.select(2, 224).eq(0).all().item<bool>());

  for (int64_t size : {223, 224, 225}) {
    ConvNormActivation unit(ConvNormActivationOptions(3, 4, 3).stride(2).same_padding(true));
    EXPECT_EQ(unit(torch::randn({1, 3, size, size})).size(2), (size + 1) / 2) << size;
  }
  // Without autograd the unit applies its activation in place: the same values (in float64,
  // which the oneDNN path of float32 inference, tests/unit/test_packed_conv.cpp, leaves to ATen).
  ConvNormActivation unit(ConvNormActivationOptions(3, 4, 3));
  unit->eval();
  unit->to(torch::kDouble);
  const torch::Tensor image = torch::randn({2, 3, 9, 9}, torch::kDouble);
  const torch::Tensor with_grad = unit(image).detach();
  torch::NoGradGuard no_autograd;
  EXPECT_TRUE(torch::equal(unit(image), with_grad));
  EfficientNetConfig config = efficientnet_b0();
  config.same_padding(true).num_classes(5);
  EfficientNet net(config);
  net->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(net->forward(torch::randn({1, 3, 97, 97})).sizes().vec(), (std::vector<int64_t>{1, 5}));
}

TEST(EfficientNet, FusedInferenceEqualsUnfused) {
  torch::manual_seed(1);
  for (auto make : {efficientnet_b0, efficientnet_v2_s}) {
    EfficientNet net(make());
    test::randomize_batch_norms(*net);
    net->eval();
    const torch::Tensor x = torch::randn({2, 3, 96, 96});
    // With autograd on, the plain ATen path: unfused, unpacked.
    const torch::Tensor expected = net->forward(x).detach();
    torch::NoGradGuard no_grad;

    auto fused = std::dynamic_pointer_cast<EfficientNetImpl>(net->clone());
    ASSERT_TRUE(fused);
    EfficientNet fused_net(fused);
    fuse_for_inference(fused_net);
    EXPECT_FALSE(fused_net->is_training());
    EXPECT_LE(test::relative_error(fused_net->forward(x), expected), 1e-5);
    {
      torch::AutoGradMode with_grad(true);
      EXPECT_TRUE(net->forward(x).detach().equal(expected)) << "the original is untouched";
    }

    bool any_norm = false;
    for (const auto& item : weights::state_dict(*fused_net))
      any_norm |= item.first.find("running_mean") != std::string::npos;
    EXPECT_FALSE(any_norm);
    EXPECT_EQ(count_parameters(*fused_net) < count_parameters(*net), true);

    EfficientNet last(std::dynamic_pointer_cast<EfficientNetImpl>(net->clone()));
    fuse_for_inference(last, /*channels_last=*/true);
    const auto stem = last->named_modules()["features.0.0"]->as<torch::nn::Conv2d>()->weight;
    EXPECT_TRUE(stem.is_contiguous(torch::MemoryFormat::ChannelsLast));
    EXPECT_LE(test::relative_error(last->forward(x.contiguous(torch::MemoryFormat::ChannelsLast)), expected), 1e-5);
  }
}

TEST(EfficientNet, FoldBatchNormIsExact) {
  torch::manual_seed(2);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 5, 3).padding(1));
  torch::nn::BatchNorm2d bn(torch::nn::BatchNorm2dOptions(5).eps(1e-3));
  test::randomize_batch_norms(*bn);
  bn->eval();
  const FoldedConv f = fold_batch_norm(conv->weight, conv->bias, *bn);
  const torch::Tensor x = torch::randn({2, 3, 6, 6}, torch::kDouble);
  const torch::Tensor expected = bn->forward(conv->forward(x.to(torch::kFloat))).to(torch::kDouble);
  const torch::Tensor got = torch::conv2d(x, f.weight.to(torch::kDouble), f.bias.to(torch::kDouble), 1, 1);
  EXPECT_TRUE(torch::allclose(got, expected, 1e-5, 1e-5));
}

TEST(EfficientNetConfig, JsonRoundTripsEveryPreset) {
  for (const Preset& p : kPresets) {
    const EfficientNetConfig config = p.make();
    const Json json = to_json(config);
    const EfficientNetConfig back = efficientnet_config_from_json(json);
    EXPECT_EQ(to_json(back), json) << p.name;
    EXPECT_EQ(back.stages(), config.stages());
  }
  EfficientNetConfig custom = efficientnet_v2_s();
  custom.num_classes(10).in_channels(1).same_padding(true).last_channel(c10::nullopt);
  EXPECT_EQ(to_json(efficientnet_config_from_json(to_json(custom))), to_json(custom));
  EXPECT_TRUE(to_json(custom)["last_channel"].is_null());
  // Through text, as a checkpoint stores it.
  EXPECT_EQ(to_json(efficientnet_config_from_json(Json::parse(to_json(custom).dump()))), to_json(custom));
}

// What checkpoints written by earlier versions hold, and so what they must still read:
// stages as objects with the block kind by name, last_channel a number or null.
TEST(EfficientNetConfig, JsonKeepsTheCheckpointFormat) {
  const Json b0 = to_json(efficientnet_b0());
  EXPECT_EQ(b0["stages"][0], Json({{"block", "mbconv"},
                                   {"expand_ratio", 1.0},
                                   {"kernel", 3},
                                   {"stride", 1},
                                   {"in_channels", 32},
                                   {"out_channels", 16},
                                   {"repeats", 1}}));
  EXPECT_EQ(to_json(efficientnet_v2_s())["stages"][0]["block"], "fused_mbconv");
  EXPECT_EQ(to_json(efficientnet_v2_s())["last_channel"], 1280);
  EXPECT_EQ(b0["activation"], "silu");
  EXPECT_EQ(b0.size(), 13u);
  // A stage names every number; the block kind alone may be left out.
  Json stage = b0["stages"][0];
  stage.erase("block");
  EXPECT_EQ(efficientnet_config_from_json({{"stages", {stage}}}).stages()[0].block, BlockKind::mbconv);
  stage.erase("kernel");
  EXPECT_TRUE(zoo::test::throws_error_with(
      [&] {
        efficientnet_config_from_json({{"stages", {stage}}});
      },
      {"missing key 'kernel'", "stages[0]"}));
  EXPECT_TRUE(zoo::test::throws_error_with(
      [&] {
        efficientnet_config_from_json({{"phy", 1}});
      },
      {"unknown key 'phy'", "phi"}));
}

TEST(EfficientNetConfig, JsonDefaultsAndPhi) {
  EXPECT_EQ(to_json(efficientnet_config_from_json(Json::object())), to_json(efficientnet_b0()));
  const EfficientNetConfig phi = efficientnet_config_from_json({{"phi", 1.0}, {"num_classes", 10}});
  EXPECT_DOUBLE_EQ(phi.width_mult(), 1.1);
  EXPECT_EQ(phi.resolution(), 256);
  EXPECT_EQ(phi.num_classes(), 10);
  // Explicit keys win over what phi gives.
  EXPECT_EQ(efficientnet_config_from_json({{"phi", 1.0}, {"resolution", 240}}).resolution(), 240);
}

TEST(EfficientNetConfig, InvalidValuesAreErrors) {
  auto fails = [](const Json& json, const std::string& what) {
    try {
      efficientnet_config_from_json(json);
      ADD_FAILURE() << "accepted " << json.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  fails({{"width_mult", 0}}, "width_mult");
  fails({{"depth_mult", -1}}, "depth_mult");
  fails({{"num_classes", 0}}, "num_classes");
  fails({{"in_channels", 0}}, "in_channels");
  fails({{"dropout", 1.0}}, "dropout");
  fails({{"stochastic_depth_prob", -0.1}}, "stochastic_depth_prob");
  fails({{"norm_eps", 0}}, "norm_eps");
  fails({{"num_clases", 10}}, "num_clases");
  fails({{"num_classes", "ten"}}, "num_classes");
  fails({{"num_classes", 2.5}}, "num_classes");
  fails({{"same_padding", 1}}, "same_padding");
  fails({{"stages", Json::array()}}, "stages");
  fails({{"phi", "x"}}, "phi");
  Json bad_stride = to_json(efficientnet_b0());
  bad_stride["stages"][2]["stride"] = 3;
  fails(bad_stride, "stages[2].stride");
  Json broken_chain = to_json(efficientnet_b0());
  broken_chain["stages"][3]["in_channels"] = 41;
  fails(broken_chain, "stages[3].in_channels");
  Json bad_block = to_json(efficientnet_b0());
  bad_block["stages"][0]["block"] = "conv";
  fails(bad_block, "conv");
  fails(Json::array(), "object");
  EXPECT_THROW(efficientnet_config_from_coefficients(-1, 1, 224, 0.2), Error);
  EXPECT_THROW(EfficientNet(EfficientNetConfig().num_classes(0)), Error);
}

TEST(HostileEfficientNet, SizesFromACheckpointAreLimitedBeforeBuilding) {
  auto refused = [](const Json& json, const std::vector<std::string>& parts) {
    EXPECT_TRUE(zoo::test::throws_error_with([&] { efficientnet_config_from_json(json); }, parts)) << json.dump();
  };
  // A 184-byte checkpoint asked for phi 25 (1.2^25 = 95x B0's depth, 1.1^25 = 11x its
  // width, 1.15^25 = 33x its resolution), and 6 GB were allocated before anything failed.
  // Its resolution is the first size found over a limit; its depth alone is another.
  refused({{"phi", 25}}, {"invalid EfficientNet config: resolution is 7376, over the limit of 4096 pixels a side"});
  refused({{"depth_mult", std::pow(kAlpha, 25)}},
          {"invalid EfficientNet config: the number of blocks (repeats x depth_mult, over all stages) is 1530",
           "over the limit of 1000 blocks (kMaxBlocks in core/limits.h)"});
  refused({{"num_classes", int64_t{1000000000000}}}, {"num_classes is 1000000000000", "kMaxClasses"});
  refused({{"in_channels", int64_t{1} << 30}}, {"in_channels is 1073741824", "kMaxChannels"});
  refused({{"last_channel", int64_t{1} << 20}}, {"last_channel is 1048576", "kMaxChannels"});
  refused({{"resolution", 100000}}, {"resolution is 100000", "kMaxImageSide"});
  // Multipliers are caught as products, before they could overflow an integer.
  refused({{"width_mult", 1e300}}, {"stages[0].in_channels x width_mult", "kMaxChannels"});
  refused({{"depth_mult", 1e300}}, {"the number of blocks", "kMaxBlocks"});
  // Each width within kMaxChannels, but together more weights than kMaxParameters.
  refused({{"width_mult", 25}}, {"the weights it needs (at least)", "kMaxParameters"});
  Json wide_kernel = to_json(efficientnet_b0());
  wide_kernel["stages"][6]["kernel"] = 1 << 20;
  refused(wide_kernel, {"the weights it needs (at least)", "kMaxParameters"});
  Json expanded = to_json(efficientnet_b0());
  expanded["stages"][6]["expand_ratio"] = 1e6;
  refused(expanded, {"stages[6].in_channels x width_mult x expand_ratio", "kMaxChannels"});
}

TEST(HostileEfficientNet, EveryReleasedModelIsWithinTheLimits) {
  // The limits must never refuse a real model: the largest ones and some phi beyond B7.
  for (const Preset& p : kPresets) EXPECT_NO_THROW(validate(p.make())) << p.name;
  for (double phi : {-5.0, 0.0, 7.0, 10.0}) EXPECT_NO_THROW(efficientnet_config_from_phi(phi)) << phi;
}

}  // namespace
}  // namespace zoo::models
