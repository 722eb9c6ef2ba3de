#pragma once
// The zoo's models by name, shared by every executable (timm-style): each entry knows its
// family, its default config (JSON, the same object a checkpoint carries) and how to build
// itself from a config.
//
//   const ModelEntry& e = find_model("efficientnet_b0");  // zoo::Error(usage) if unknown
//   Json config = model_config("efficientnet_b0", {{"num_classes", 10}, {"in_channels", 1}});
//   std::shared_ptr<torch::nn::Module> m = build_model("efficientnet_b0", config);
//
// Classifiers (entries with a `classify` function) have a typed front door that training
// and inference code use without knowing the family:
//
//   Classifier net = build_classifier("efficientnet_b0", {{"num_classes", 10}, {"in_channels", 1}});
//   net.module().to(device); net.module().train();            // a plain torch::nn::Module
//   torch::Tensor logits = net.forward(images);               // [N, C, H, W] -> [N, num_classes]
//   save net.config() with the weights; build_classifier(net.name(), net.config()) rebuilds it.
//
// Every image model (classifiers, the diffusion U-Net, image flows) also has the front door
// the analysis tools use: build_image_model(name) gives the module, the pass to analyse
// and the image shape.
//
// Config overrides are merged into the entry's default config key by key (a key given
// replaces the default's value whole); the family's parser rejects unknown keys, so a
// typo is an error, not a silently ignored setting.
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"

namespace zoo::models {

// Logits [N, num_classes] of a module built by the same entry, for images [N, C, H, W].
using ClassifyFn = std::function<torch::Tensor(torch::nn::Module&, const torch::Tensor&)>;

struct ModelEntry {
  std::string name, family, description;
  Json default_config;
  // Builds from a complete config (defaults already merged in).
  std::function<std::shared_ptr<torch::nn::Module>(const Json& config)> build;
  // The full config a config stands for (e.g. {"phi": 1} -> every field); identity if empty.
  // A classifier's resolved config has integer "num_classes", "in_channels" and "resolution".
  std::function<Json(const Json& config)> resolve;
  ClassifyFn classify;  // set for image classifiers, empty for other models
  ClassifyFn features;  // classifiers: the pooled features [N, F] the last layer sees
  // Other image models (the diffusion U-Net, image flows): what analysis (model_info,
  // receptive_field) runs on images [N, C, H, W] — the U-Net's encoder, a flow's forward
  // pass — and the image shape [C, H, W] a resolved config is built for.
  ClassifyFn analyse;
  std::function<std::vector<int64_t>(const Json& config)> image_shape;

  bool is_classifier() const { return static_cast<bool>(classify); }
};

// Throws zoo::Error(usage): "unknown model 'x' (known: a, b, ...)".
const ModelEntry& find_model(const std::string& name);
std::vector<std::string> model_names();  // sorted
// Adds an entry (tests, plugins); a name already taken is an error.
void register_model(ModelEntry entry);

// The entry's default config with `overrides` (a JSON object) applied, then resolved.
Json model_config(const std::string& name, const Json& overrides = Json::object());
std::shared_ptr<torch::nn::Module> build_model(const std::string& name, const Json& overrides = Json::object());

// An image classifier built by name. Copies share the module.
class Classifier {
 public:
  Classifier(std::string name, Json config, std::shared_ptr<torch::nn::Module> module, ClassifyFn classify,
             ClassifyFn features);

  torch::Tensor forward(const torch::Tensor& images) const { return classify_(*module_, images); }
  // The penultimate features [N, F] (embeddings for Fréchet distances, fine-tuning).
  torch::Tensor features(const torch::Tensor& images) const { return features_(*module_, images); }
  torch::Tensor operator()(const torch::Tensor& images) const { return forward(images); }

  torch::nn::Module& module() const { return *module_; }
  const std::shared_ptr<torch::nn::Module>& module_ptr() const { return module_; }
  const std::string& name() const { return name_; }
  const Json& config() const { return config_; }  // resolved: rebuilds this model exactly
  int64_t num_classes() const;
  int64_t in_channels() const;
  int64_t image_size() const;  // the resolution the model is designed for

 private:
  std::string name_;
  Json config_;
  std::shared_ptr<torch::nn::Module> module_;
  ClassifyFn classify_, features_;
};

// Throws zoo::Error(usage) when the name is unknown or not a classifier.
Classifier build_classifier(const std::string& name, const Json& overrides = Json::object());

// Any image model, classifier or not, as the analysis tools see it: a module, the pass
// they analyse and the image shape it is built for.
struct ImageModel {
  std::string name;
  Json config;  // resolved
  std::shared_ptr<torch::nn::Module> module;
  ClassifyFn forward;
  std::vector<int64_t> image_shape;  // [C, H, W]

  torch::Tensor operator()(const torch::Tensor& images) const { return forward(*module, images); }
};

// Throws zoo::Error(usage) when the name is unknown or not an image model.
ImageModel build_image_model(const std::string& name, const Json& overrides = Json::object());

}  // namespace zoo::models
