// model_info's costs read from the traced forward pass, for every family, against what
// the networks' structure says they must be.
#include <gtest/gtest.h>

#include "models/analysis/model_info.h"
#include "models/registry.h"

namespace zoo::models {
namespace {

analysis::ModelInfo info_of(const std::string& name, const Json& overrides = Json::object()) {
  const Runnable net = build_runnable(name, overrides);
  std::vector<int64_t> shape = net.example_shape;
  shape.insert(shape.begin(), 1);
  return analysis::model_info(
      *net.module, [&](const torch::Tensor& x) { return net(x); }, shape);
}

// In·out of every Linear module: the MACs of a network that runs each of them once per example.
int64_t linear_macs(const std::string& name) {
  int64_t macs = 0;
  for (const auto& module : build_model(name)->modules())
    if (const auto* linear = module->as<torch::nn::Linear>()) macs += linear->weight.numel();
  return macs;
}

int64_t layer_sum(const analysis::ModelInfo& info) {
  int64_t sum = 0;
  for (const auto& layer : info.layers) sum += layer.macs;
  return sum;
}

TEST(ModelInfo, MultilayerPerceptronsCostTheirLinearLayers) {
  for (const std::string name : {"mlp", "vae", "tabular_net"}) {
    SCOPED_TRACE(name);
    const analysis::ModelInfo info = info_of(name);
    EXPECT_EQ(info.total_macs, linear_macs(name));
    EXPECT_EQ(layer_sum(info), info.total_macs);
    int64_t params = 0;
    for (const auto& p : build_model(name)->parameters()) params += p.numel();
    EXPECT_EQ(info.total_params, params);
  }
}

TEST(ModelInfo, TheUNetCostsItsConvolutionsAndAttention) {
  const analysis::ModelInfo info = info_of("unet");  // 1x28x28, 32 channels, attention at 7x7 with 64 channels
  EXPECT_EQ(layer_sum(info), info.total_macs);
  const auto first_conv = std::find_if(info.layers.begin(), info.layers.end(),
                                       [](const analysis::LayerInfo& l) { return l.type == "Conv2d"; });
  ASSERT_NE(first_conv, info.layers.end());
  EXPECT_EQ(first_conv->macs, 28 * 28 * 32 * 1 * 9);
  EXPECT_EQ(first_conv->params, 32 * 9 + 32);
  int matmuls = 0;
  for (const auto& layer : info.layers)
    if (layer.type == "MatMul") {
      ++matmuls;
      EXPECT_EQ(layer.macs, 49 * 49 * 64) << layer.name;  // q·kᵀ and weights·v over 49 tokens of 64 channels
    }
  EXPECT_GE(matmuls, 2);
  EXPECT_EQ(
      info.total_macs -
              [&] {
                int64_t other = 0;
                for (const auto& layer : info.layers)
                  if (layer.type != "Conv2d" && layer.type != "MatMul") other += layer.macs;
                return other;
              }() >
          0,
      true);
}

TEST(ModelInfo, FlowsCostTheirCouplingNetworks) {
  for (const std::string name : {"nice", "realnvp", "glow"}) {
    SCOPED_TRACE(name);
    const analysis::ModelInfo info = info_of(name);
    EXPECT_GT(info.total_macs, 0);
    EXPECT_EQ(layer_sum(info), info.total_macs);
    for (const auto& layer : info.layers) EXPECT_FALSE(layer.name.empty());
  }
  // NICE is made of MLPs run once each.
  EXPECT_EQ(info_of("nice").total_macs, linear_macs("nice"));
}

}  // namespace
}  // namespace zoo::models
