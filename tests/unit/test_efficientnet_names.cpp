#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "weights/efficientnet_names.h"

using namespace zoo::weights;

namespace {
// EfficientNet-B0: (blocks, has expansion) per stage, from the paper's table.
const std::vector<StageLayout> kB0 = {{1, false}, {2, true}, {2, true}, {3, true}, {3, true}, {4, true}, {1, true}};

std::string renamed(const std::string& name, NameScheme from, NameScheme to) {
  return rename_efficientnet({{name, torch::zeros({1})}}, kB0, from, to).front().first;
}
}  // namespace

TEST(EfficientNetNames, TorchvisionB0HasItsThreeHundredSixtyEntries) {
  const auto pairs = efficientnet_name_pairs(kB0, NameScheme::torchvision);
  EXPECT_EQ(pairs.size(), 360u);
  std::set<std::string> names;
  for (const auto& [tv, same] : pairs) {
    EXPECT_EQ(tv, same);
    names.insert(tv);
  }
  EXPECT_EQ(names.size(), 360u);
  EXPECT_TRUE(names.count("features.0.1.num_batches_tracked"));
  EXPECT_TRUE(names.count("features.1.0.block.1.fc2.bias"));  // stage 1: no expansion, SE is block.1
  EXPECT_TRUE(names.count("features.2.1.block.3.1.running_var"));
  EXPECT_TRUE(names.count("features.8.0.weight"));
  EXPECT_TRUE(names.count("classifier.1.weight"));
}

TEST(EfficientNetNames, KnownTimmAndLukemelasNames) {
  using S = NameScheme;
  // Stage 0 in timm is a depthwise-separable block: conv_pw is its projection.
  EXPECT_EQ(renamed("blocks.0.0.conv_pw.weight", S::timm, S::torchvision), "features.1.0.block.2.0.weight");
  EXPECT_EQ(renamed("blocks.0.0.bn1.running_mean", S::timm, S::torchvision), "features.1.0.block.0.1.running_mean");
  EXPECT_EQ(renamed("blocks.1.0.conv_pw.weight", S::timm, S::torchvision), "features.2.0.block.0.0.weight");
  EXPECT_EQ(renamed("blocks.1.0.conv_pwl.weight", S::timm, S::torchvision), "features.2.0.block.3.0.weight");
  EXPECT_EQ(renamed("blocks.5.3.se.conv_expand.bias", S::timm, S::torchvision), "features.6.3.block.2.fc2.bias");
  EXPECT_EQ(renamed("bn2.weight", S::timm, S::torchvision), "features.8.1.weight");
  EXPECT_EQ(renamed("classifier.bias", S::timm, S::torchvision), "classifier.1.bias");
  // lukemelas counts blocks over all stages: block 15 is B0's last (stage 7).
  EXPECT_EQ(renamed("_blocks.15._project_conv.weight", S::lukemelas, S::torchvision), "features.7.0.block.3.0.weight");
  EXPECT_EQ(renamed("_blocks.0._depthwise_conv.weight", S::lukemelas, S::torchvision), "features.1.0.block.0.0.weight");
  EXPECT_EQ(renamed("_blocks.3._expand_conv.weight", S::lukemelas, S::torchvision), "features.3.0.block.0.0.weight");
  EXPECT_EQ(renamed("_bn0.weight", S::lukemelas, S::torchvision), "features.0.1.weight");
  EXPECT_EQ(renamed("_bn1.weight", S::lukemelas, S::torchvision), "features.8.1.weight");
  EXPECT_EQ(renamed("_fc.weight", S::lukemelas, S::timm), "classifier.weight");
}

TEST(EfficientNetNames, RoundTripThroughEverySchemeIsTheIdentity) {
  NamedTensors tensors;
  for (const auto& [name, ignored] : efficientnet_name_pairs(kB0, NameScheme::torchvision))
    tensors.emplace_back(name, torch::rand({2}));
  const auto timm = rename_efficientnet(tensors, kB0, NameScheme::torchvision, NameScheme::timm);
  const auto luke = rename_efficientnet(timm, kB0, NameScheme::timm, NameScheme::lukemelas);
  const auto back = rename_efficientnet(luke, kB0, NameScheme::lukemelas, NameScheme::torchvision);
  ASSERT_EQ(back.size(), tensors.size());
  std::set<std::string> timm_names;
  for (size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].first, tensors[i].first);
    EXPECT_TRUE(torch::equal(back[i].second, tensors[i].second));
    timm_names.insert(timm[i].first);
  }
  EXPECT_EQ(timm_names.size(), tensors.size()) << "two tensors got the same timm name";
}

TEST(EfficientNetNames, ForeignNamesAreReported) {
  try {
    rename_efficientnet({{"features.0.0.weight", torch::zeros({1})}}, kB0, NameScheme::timm, NameScheme::torchvision);
    FAIL();
  } catch (const zoo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("features.0.0.weight"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("timm"), std::string::npos);
  }
  EXPECT_THROW(parse_name_scheme("keras"), zoo::Error);
}
