// model_info end to end: totals against the paper and torchvision, overrides, errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "support/test_support.h"

using nlohmann::json;
using zoo::test::run_zoo;

namespace {

json run_json(const std::string& arguments) { return zoo::test::run_zoo_json("model_info", arguments); }

void expect_clean_error(const std::string& arguments, const std::string& what) {
  zoo::test::expect_clean_error("model_info", arguments, what);
}

}  // namespace

TEST(ModelInfo, EfficientNetB0TotalsMatchThePaperAndTorchvision) {
  const json report = run_json("--model efficientnet_b0");
  EXPECT_EQ(report["total_params"], 5288548);
  EXPECT_NEAR(report["total_macs"].get<double>() / 0.39e9, 1.0, 0.05) << report["total_macs"];
  EXPECT_EQ(report["input_shape"], json::array({1, 3, 224, 224}));
  const json& layers = report["layers"];
  ASSERT_FALSE(layers.empty());
  EXPECT_EQ(layers.front()["name"], "features.0.0");
  EXPECT_EQ(layers.front()["output_shape"], json::array({1, 32, 112, 112}));
  EXPECT_EQ(layers.front()["macs"], 112 * 112 * 32 * 27);
  EXPECT_EQ(layers.back()["name"], "classifier.1");
  EXPECT_EQ(layers.back()["params"], 1281000);
  int64_t sum = 0;
  for (const json& layer : layers) sum += layer["macs"].get<int64_t>();
  EXPECT_EQ(sum, report["total_macs"].get<int64_t>());

  // The paper's table: the stem 3×3/2, then per stage (kernel, stride, layers) (3,1,1),
  // (3,2,2), (5,2,2), (3,2,3), (5,1,3), (5,2,4), (3,1,1); each depthwise k×k widens the
  // field by (k − 1)·jump: 1 + 2 + 4 + (4 + 8) + (16 + 32) + (16 + 2·32) + 3·64 + (64 + 3·128) + 64.
  const json& field = report["receptive_field"];
  EXPECT_EQ(field["layer"], "features.8.0");
  EXPECT_EQ(field["field"], json::array({851, 851}));
  EXPECT_EQ(field["jump"], json::array({32, 32}));
  EXPECT_TRUE(field["global_context"].get<bool>());  // squeeze-and-excitation
  EXPECT_TRUE(field["aligned"].get<bool>());
}

TEST(ModelInfo, OverridesAndTable) {
  const json report = run_json("--model efficientnet_b0 --image-size 64 --num-classes 10 --in-channels 1");
  EXPECT_EQ(report["input_shape"], json::array({1, 1, 64, 64}));
  EXPECT_EQ(report["layers"].back()["output_shape"], json::array({1, 10}));
  EXPECT_EQ(report["total_params"], 5288548 - 1281000 + 12810 - 2 * 9 * 32);

  const auto table = run_zoo("model_info", "--model efficientnet_v2_s --image-size 96");
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("features.1.0.block.0.0"), std::string::npos);
  EXPECT_NE(table.output.find("21458488 parameters"), std::string::npos)
      << table.output.substr(table.output.size() - 200);
}

TEST(ModelInfo, ConfigOverridesWithSet) {
  // φ = 1 has B2's coefficients (width 1.1, depth 1.2), so B2's parameter count, at 256 px.
  const json report = run_json("--model efficientnet_phi --set phi=1 --image-size 64");
  EXPECT_EQ(report["total_params"], 9109994);
  EXPECT_EQ(report["config"]["resolution"], 256);
  EXPECT_EQ(run_json("--model efficientnet_b0 --set same_padding=true --image-size 65")["config"]["same_padding"],
            true);
}

TEST(ModelInfo, UnknownModelIsOneLineExitTwo) {
  expect_clean_error("--model resnet_9000", "resnet_9000");
  expect_clean_error("--model efficientnet_b0 --format xml", "--format");
  expect_clean_error("--model efficientnet_b0 --image-size -3", "--image-size");
  expect_clean_error("--model efficientnet_b0 --set num_clases=3", "num_clases");
  expect_clean_error("--model efficientnet_b0 --set phi", "--set");
}
