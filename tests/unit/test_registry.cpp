// The model registry: names, defaults, overrides, classifiers, and its errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"
#include "models/efficientnet/efficientnet.h"
#include "models/registry.h"
#include "weights/state_dict.h"

namespace zoo::models {
namespace {

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

TEST(Registry, ListsEveryEfficientNet) {
  const std::vector<std::string> names = model_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const char* name : {"efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
                           "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
                           "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l", "efficientnet_phi"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
    const ModelEntry& entry = find_model(name);
    EXPECT_EQ(entry.name, name);
    EXPECT_EQ(entry.family, "efficientnet");
    EXPECT_FALSE(entry.description.empty());
    EXPECT_TRUE(entry.is_classifier());
  }
  EXPECT_EQ(find_model("efficientnet_b3").default_config["resolution"], 300);
}

TEST(Registry, UnknownNameIsAUsageErrorListingKnownNames) {
  try {
    find_model("efficientnet_b9");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    const std::string message = e.what();
    EXPECT_NE(message.find("efficientnet_b9"), std::string::npos) << message;
    EXPECT_NE(message.find("efficientnet_b0"), std::string::npos) << message;
  }
  EXPECT_THROW(build_classifier("nope"), Error);
}

TEST(Registry, ClassifierWithOverridesRunsAndRebuildsFromItsConfig) {
  Classifier net = build_classifier("efficientnet_b0", {{"num_classes", 10}, {"in_channels", 1}});
  EXPECT_EQ(net.name(), "efficientnet_b0");
  EXPECT_EQ(net.num_classes(), 10);
  EXPECT_EQ(net.in_channels(), 1);
  EXPECT_EQ(net.image_size(), 224);
  net.module().eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(net.forward(torch::rand({2, 1, 28, 28})).sizes().vec(), (std::vector<int64_t>{2, 10}));
  EXPECT_EQ(net(torch::rand({1, 1, 32, 32})).size(1), 10);

  // The saved config rebuilds the same architecture, and its weights load into it.
  Classifier again = build_classifier(net.name(), Json::parse(net.config().dump()));
  const auto original = weights::state_dict(net.module());
  const auto rebuilt = weights::state_dict(again.module());
  ASSERT_EQ(original.size(), rebuilt.size());
  for (size_t i = 0; i < original.size(); ++i) {
    EXPECT_EQ(original[i].first, rebuilt[i].first);
    EXPECT_EQ(original[i].second.sizes(), rebuilt[i].second.sizes()) << original[i].first;
  }
  EXPECT_TRUE(weights::load_state_dict(again.module(), original).ok());
  const torch::Tensor x = torch::rand({1, 1, 40, 40});
  again.module().eval();
  EXPECT_TRUE(net.forward(x).equal(again.forward(x)));
}

TEST(Registry, PhiEntryScalesFromPhi) {
  EXPECT_EQ(count_parameters(*build_model("efficientnet_phi")), 5288548);  // phi 0 is B0
  const Json config = model_config("efficientnet_phi", {{"phi", 1}});
  EXPECT_DOUBLE_EQ(config["width_mult"].get<double>(), 1.1);
  EXPECT_DOUBLE_EQ(config["depth_mult"].get<double>(), 1.2);
  EXPECT_EQ(config["resolution"], 256);
  Classifier small = build_classifier("efficientnet_phi", {{"phi", -2}, {"num_classes", 3}});
  EXPECT_EQ(small.image_size(), 168);
  small.module().eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(small.forward(torch::rand({1, 3, 32, 32})).sizes().vec(), (std::vector<int64_t>{1, 3}));
}

TEST(Registry, BuildReturnsTheFamilysModule) {
  auto module = build_model("efficientnet_v2_s", {{"num_classes", 4}});
  auto net = std::dynamic_pointer_cast<EfficientNetImpl>(module);
  ASSERT_TRUE(net);
  EXPECT_EQ(net->config().num_classes(), 4);
  EXPECT_EQ(net->config().last_channel().value(), 1280);
}

TEST(Registry, BadOverridesAreErrors) {
  EXPECT_THROW(build_classifier("efficientnet_b0", {{"num_clases", 10}}), Error);
  EXPECT_THROW(build_classifier("efficientnet_b0", {{"num_classes", 0}}), Error);
  EXPECT_THROW(model_config("efficientnet_b0", Json::array({1})), Error);
}

TEST(Registry, CustomEntriesAndNonClassifiers) {
  ModelEntry entry;
  entry.name = "test_registry_linear";
  entry.family = "test";
  entry.description = "a Linear, not an image classifier";
  entry.default_config = {{"features", 3}};
  entry.build = [](const Json& config) -> std::shared_ptr<torch::nn::Module> {
    return torch::nn::Linear(config["features"].get<int64_t>(), 2).ptr();
  };
  register_model(entry);
  EXPECT_THROW(register_model(entry), Error);
  EXPECT_EQ(build_model("test_registry_linear", {{"features", 5}})->parameters().front().size(1), 5);
  try {
    build_classifier("test_registry_linear");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("not an image classifier"), std::string::npos);
  }
}

}  // namespace
}  // namespace zoo::models
