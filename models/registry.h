#pragma once
// Every model the zoo builds, by name (timm-style): each entry knows its family, its default
// config (JSON, the same object a checkpoint carries), how to resolve and build itself from a
// config, the pass it runs on a batch of examples and the shape of one example. Flows,
// diffusion networks, the VAE and the tabular net are here beside the classifiers, so
// model_info and receptive_field reach every one of them by name.
//
//   const ModelEntry& e = find_model("efficientnet_b0");  // zoo::Error(usage) if unknown
//   Json config = model_config("efficientnet_b0", {{"num_classes", 10}, {"in_channels", 1}});
//   std::shared_ptr<torch::nn::Module> m = build_model("efficientnet_b0", config);
//
// Classifiers (entries with `features`) have a typed front door that training and inference
// code use without knowing the family:
//
//   Classifier net = build_classifier("efficientnet_b0", {{"num_classes", 10}, {"in_channels", 1}});
//   net.module().to(device); net.module().train();            // a plain torch::nn::Module
//   torch::Tensor logits = net.forward(images);               // [N, C, H, W] -> [N, num_classes]
//   save net.config() with the weights; build_classifier(net.name(), net.config()) rebuilds it.
//
// Every model has the front door the analysis tools use: build_runnable(name) gives the
// module, its pass and the shape of one example.
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

// A pass of a module built by the same entry over a batch of examples [N, ...example shape].
using PassFn = std::function<torch::Tensor(torch::nn::Module&, const torch::Tensor&)>;

struct ModelEntry {
  std::string name, family, description;
  Json default_config;
  // The full config a config stands for (defaults filled in, checked: {"phi": 1} -> every
  // field). A classifier's has integer "num_classes", "in_channels" and "resolution".
  std::function<Json(const Json& config)> resolve;
  std::function<std::shared_ptr<torch::nn::Module>(const Json& config)> build;  // from a resolved config
  // What the model computes on a batch: a classifier's logits, a flow's encoding, a denoising
  // network's output at noise level zero (class 0), a VAE's reconstruction, the tabular net's
  // prediction. Its cost is what model_info reports; its feature maps what receptive_field reads.
  PassFn forward;
  std::function<std::vector<int64_t>(const Json& config)> example_shape;  // [C, H, W] or [D]
  PassFn features;  // classifiers only: the pooled features [N, F] the last layer sees
  // The pass whose feature maps receptive_field reads, where it is not forward: the U-Net's
  // encoder (the decoder joins maps of every resolution; its output is no one map's view).
  PassFn maps;

  bool is_classifier() const { return static_cast<bool>(features); }
};

// Throws zoo::Error(usage): "unknown model 'x' (known: a, b, ...)".
const ModelEntry& find_model(const std::string& name);
std::vector<std::string> model_names();       // sorted
std::vector<std::string> classifier_names();  // sorted
// Adds an entry (tests, plugins); a name already taken, or an entry without resolve, build,
// forward or example_shape, is an error.
void register_model(ModelEntry entry);

// The entry's default config with `overrides` (a JSON object) applied, then resolved.
Json model_config(const std::string& name, const Json& overrides = Json::object());
std::shared_ptr<torch::nn::Module> build_model(const std::string& name, const Json& overrides = Json::object());

// An image classifier built by name. Copies share the module.
class Classifier {
 public:
  Classifier(std::string name, Json config, std::shared_ptr<torch::nn::Module> module, PassFn classify,
             PassFn features);

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
  PassFn classify_, features_;
};

// Throws zoo::Error(usage) when the name is unknown or not a classifier.
Classifier build_classifier(const std::string& name, const Json& overrides = Json::object());

// Any model as the analysis tools see it: a module, its pass and the shape of one example.
struct Runnable {
  std::string name;
  Json config;  // resolved
  std::shared_ptr<torch::nn::Module> module;
  PassFn forward;
  PassFn maps;                         // the pass receptive-field analysis reads
  std::vector<int64_t> example_shape;  // [C, H, W] or [D]

  torch::Tensor operator()(const torch::Tensor& batch) const { return forward(*module, batch); }
  bool images() const { return example_shape.size() == 3; }
};

Runnable build_runnable(const std::string& name, const Json& overrides = Json::object());

}  // namespace zoo::models
