#include "models/efficientnet/model_entries.h"

#include "models/efficientnet/efficientnet.h"

#include <cctype>

#include "core/error.h"

namespace zoo::models {
namespace {

EfficientNetImpl& as_efficientnet(torch::nn::Module& module) {
  auto* net = dynamic_cast<EfficientNetImpl*>(&module);
  if (!net) throw Error("efficientnet: the module is not an EfficientNet", ErrorKind::runtime);
  return *net;
}

// Every EfficientNet entry parses the same way; only the defaults differ. A resolved
// config (to_json of the parsed one) rebuilds the model through any of them.
ModelEntry entry(std::string name, std::string description, Json defaults) {
  ModelEntry e;
  e.name = std::move(name);
  e.family = "efficientnet";
  e.description = std::move(description);
  e.default_config = std::move(defaults);
  e.resolve = [](const Json& config) { return to_json(efficientnet_config_from_json(config)); };
  e.build = [](const Json& config) -> std::shared_ptr<torch::nn::Module> {
    return EfficientNet(efficientnet_config_from_json(config)).ptr();
  };
  e.forward = [](torch::nn::Module& module, const torch::Tensor& images) {
    return as_efficientnet(module).forward(images);
  };
  e.example_shape = [](const Json& config) {
    const EfficientNetConfig c = efficientnet_config_from_json(config);
    return std::vector<int64_t>{c.in_channels(), c.resolution(), c.resolution()};
  };
  e.features = [](torch::nn::Module& module, const torch::Tensor& images) {
    return as_efficientnet(module).forward_features(images);
  };
  return e;
}

}  // namespace

std::vector<ModelEntry> efficientnet_model_entries() {
  const std::pair<const char*, EfficientNetConfig (*)()> presets[] = {
      {"efficientnet_b0", efficientnet_b0},     {"efficientnet_b1", efficientnet_b1},
      {"efficientnet_b2", efficientnet_b2},     {"efficientnet_b3", efficientnet_b3},
      {"efficientnet_b4", efficientnet_b4},     {"efficientnet_b5", efficientnet_b5},
      {"efficientnet_b6", efficientnet_b6},     {"efficientnet_b7", efficientnet_b7},
      {"efficientnet_v2_s", efficientnet_v2_s}, {"efficientnet_v2_m", efficientnet_v2_m},
      {"efficientnet_v2_l", efficientnet_v2_l}};
  std::vector<ModelEntry> entries;
  for (const auto& [name, make] : presets) {
    const EfficientNetConfig config = make();
    const std::string n = name;
    const std::string version = n.rfind("efficientnet_v2", 0) == 0 ? "EfficientNetV2-" : "EfficientNet-";
    std::string suffix = n.substr(n.rfind('_') + 1);
    for (char& ch : suffix) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    entries.push_back(entry(
        n, version + suffix + " (torchvision layout), " + std::to_string(config.resolution()) + "px", to_json(config)));
  }
  entries.push_back(entry("efficientnet_phi",
                          "EfficientNet compound-scaled from B0 by \"phi\": depth 1.2^phi, width 1.1^phi, resolution "
                          "224*1.15^phi",
                          Json{{"phi", 0.0}}));
  return entries;
}

}  // namespace zoo::models
