// receptive_field end to end: specs, zoo models, --verify, --image, and bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/image.h"
#include "support/test_support.h"

using nlohmann::json;
using zoo::test::run_zoo;
using zoo::test::TempDir;

namespace {

const std::string kVggLike = R"([
  {"name": "conv1", "type": "conv", "kernel": 3, "padding": 1},
  {"name": "pool1", "type": "max_pool", "kernel": 2},
  {"name": "conv2", "type": "conv", "kernel": 3, "padding": 1, "dilation": 2},
  {"name": "pool2", "type": "max_pool", "kernel": 2}])";

std::string write_spec(const TempDir& dir, const std::string& text) {
  zoo::test::write_bytes(dir.file("spec.json"), text);
  return dir.file("spec.json");
}

}  // namespace

TEST(ReceptiveFieldCli, SpecTableAndJsonWithVerification) {
  TempDir dir;
  const std::string spec = write_spec(dir, kVggLike);
  const json report = zoo::test::run_zoo_json("receptive_field", "--spec " + spec + " --input-size 64,48 --verify");
  ASSERT_EQ(report["layers"].size(), 5u);
  const json& pool2 = report["layers"][4];
  EXPECT_EQ(pool2["name"], "pool2");
  // 3 (conv1), +1 (pool1, jump 2), +4·2 (conv2's dilated kernel spans 5), +1·2 (pool2).
  EXPECT_EQ(pool2["receptive_field"], json::array({14, 14}));
  EXPECT_EQ(pool2["jump"], json::array({4, 4}));
  EXPECT_EQ(pool2["output_size"], json::array({15, 11}));
  EXPECT_EQ(report["layer"]["name"], "pool2");
  EXPECT_TRUE(report["verify"]["agrees"].get<bool>()) << report.dump(1);
  EXPECT_EQ(report["verify"]["empirical"]["extent"], json::array({14, 14}));

  const auto table = run_zoo("receptive_field", "--spec " + spec + " --layer conv2 --verify");
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("largest receptive field 14 at pool2"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("centre unit of conv2 sees 12x12 pixels"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("(agrees)"), std::string::npos) << table.output;
}

TEST(ReceptiveFieldCli, ZooModelVerifiesAndDrawsOnAPicture) {
  TempDir dir;
  const json report = zoo::test::run_zoo_json("receptive_field", "--model efficientnet_b0 --input-size 128 --verify");
  EXPECT_EQ(report["layer"]["name"], "features.8.0");
  EXPECT_TRUE(report["verify"]["agrees"].get<bool>()) << report["verify"].dump();
  EXPECT_EQ(report["verify"]["with_global_context"]["extent"], json::array({128, 128}));
  EXPECT_TRUE(report["aligned"].get<bool>());

  zoo::save_image(dir.file("in.png"), torch::full({3, 40, 50}, 0.8));
  const auto drawn = run_zoo("receptive_field", "--spec " + write_spec(dir, kVggLike) + " --layer conv1 --image " +
                                                    dir.file("in.png") + " --out " + dir.file("out.png"));
  ASSERT_EQ(drawn.exit_code, 0) << drawn.output;
  const torch::Tensor out = zoo::load_image(dir.file("out.png"));
  ASSERT_EQ(out.sizes(), torch::IntArrayRef({3, 40, 50}));
  // The centre unit of conv1 (19, 24) sees rows 18-20 and columns 23-25: outlined in red,
  // everything else dimmed.
  EXPECT_GT(out[0][18][24].item<float>(), 0.9);
  EXPECT_LT(out[1][18][24].item<float>(), 0.1);
  EXPECT_LT(out[0][5][5].item<float>(), 0.4);
}

// The U-Net's encoder and Glow's forward pass, traced here; inputs large enough that the
// centre unit's field lies inside them.
TEST(ReceptiveFieldCli, DiffusionAndFlowModelsVerify) {
  const json unet = zoo::test::run_zoo_json("receptive_field", "--model unet --input-size 128 --verify");
  EXPECT_TRUE(unet["verify"]["agrees"].get<bool>()) << unet["verify"].dump();
  EXPECT_GT(unet["verify"]["empirical"]["first"][0].get<int64_t>(), 0);
  EXPECT_EQ(unet["verify"]["with_global_context"]["extent"], json::array({128, 128}));  // attention
  const json glow = zoo::test::run_zoo_json("receptive_field", "--model glow --input-size 256 --verify");
  EXPECT_TRUE(glow["verify"]["agrees"].get<bool>()) << glow["verify"].dump();
  EXPECT_GT(glow["verify"]["empirical"]["first"][0].get<int64_t>(), 0);
  EXPECT_TRUE(glow["aligned"].get<bool>());
  for (const std::string model : {"unet", "realnvp", "glow"}) {
    const json info = zoo::test::run_zoo_json("model_info", "--model " + model);
    EXPECT_GT(info["receptive_field"]["field"][0].get<double>(), 1) << model;
    EXPECT_EQ(info["receptive_field"]["jump"][0], 4) << model;  // two halvings of 28×28
  }
}

TEST(ReceptiveFieldCli, BadInputIsOneLine) {
  TempDir dir;
  zoo::test::expect_clean_error("receptive_field", "--spec " + write_spec(dir, kVggLike) + " --input-size 3",
                                "minimum 8x8");
  zoo::test::expect_clean_error("receptive_field",
                                "--spec " + write_spec(dir, R"([{"name": "c", "type": "conv", "stride": 2}])"),
                                "missing field kernel");
  zoo::test::expect_clean_error("receptive_field", "--spec " + write_spec(dir, "[{"), "invalid JSON");
  zoo::test::expect_clean_error("receptive_field", "--spec " + write_spec(dir, kVggLike) + " --layer conv9", "conv9");
  zoo::test::expect_clean_error("receptive_field", "--model efficientnet_b0 --spec x.json", "exactly one of");
  zoo::test::expect_clean_error("receptive_field", "--spec " + write_spec(dir, kVggLike) + " --input-size 4x4",
                                "--input-size");
  zoo::test::write_bytes(dir.file("broken.pt"), "not a zip archive");
  zoo::test::expect_clean_error("receptive_field", "--torchscript " + dir.file("broken.pt"), "broken.pt");
}
