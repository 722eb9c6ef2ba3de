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
  ModelEntry incomplete = entry;
  EXPECT_THROW(register_model(incomplete), Error);  // no resolve, forward or example_shape
  entry.resolve = [](const Json& config) { return config; };
  entry.forward = [](torch::nn::Module& module, const torch::Tensor& x) {
    return dynamic_cast<torch::nn::LinearImpl&>(module).forward(x);
  };
  entry.example_shape = [](const Json& config) { return std::vector<int64_t>{config["features"].get<int64_t>()}; };
  register_model(entry);
  EXPECT_THROW(register_model(entry), Error);
  const Runnable linear = build_runnable("test_registry_linear", {{"features", 4}});
  EXPECT_EQ(linear.example_shape, std::vector<int64_t>{4});
  EXPECT_EQ(linear(torch::zeros({3, 4})).sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(build_model("test_registry_linear", {{"features", 5}})->parameters().front().size(1), 5);
  try {
    build_classifier("test_registry_linear");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("not an image classifier"), std::string::npos);
  }
}

// Every model an executable trains is reachable by name, builds from its default config and
// runs its pass on a batch of its examples.
TEST(Registry, EveryFamilyIsInTheCatalogue) {
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"nice", "flow"},      {"realnvp", "flow"}, {"glow", "flow"},           {"mlp", "diffusion"},
      {"unet", "diffusion"}, {"vae", "vae"},      {"tabular_net", "tabular"}, {"efficientnet_b0", "efficientnet"}};
  for (const auto& [name, family] : expected) {
    SCOPED_TRACE(name);
    const ModelEntry& entry = find_model(name);
    EXPECT_EQ(entry.family, family);
    EXPECT_FALSE(entry.description.empty());
    const Runnable net = build_runnable(name);
    std::vector<int64_t> batch = net.example_shape;
    batch.insert(batch.begin(), 2);
    net.module->eval();
    torch::NoGradGuard no_grad;
    EXPECT_EQ(net(torch::zeros(batch)).size(0), 2);
  }
}

}  // namespace
}  // namespace zoo::models
