#include "models/registry.h"

#include <algorithm>
#include <mutex>

#include "core/catalogue.h"
#include "core/error.h"
#include "models/diffusion/model_entries.h"
#include "models/efficientnet/model_entries.h"
#include "models/flows/model_entries.h"
#include "models/tabular/model_entries.h"
#include "models/vae/model_entries.h"

namespace zoo::models {
namespace {

struct Registry {
  Registry();
  void add(ModelEntry entry);
  std::mutex mutex;
  Catalogue<ModelEntry> entries{"model", {}};
};

void Registry::add(ModelEntry entry) {
  if (entry.name.empty() || !entry.resolve || !entry.build || !entry.forward || !entry.example_shape)
    throw Error("model entry '" + entry.name + "' needs a name, resolve, build, forward and example_shape",
                ErrorKind::runtime);
  std::string name = entry.name;
  entries.add({std::move(name), std::move(entry)});
}

// Every family lists its entries here, explicitly: self-registering static objects would
// be dropped by the linker from a static library.
Registry::Registry() {
  for (auto* family : {efficientnet_model_entries, diffusion_model_entries, flow_model_entries, vae_model_entries,
                       tabular_model_entries})
    for (ModelEntry& e : family()) add(std::move(e));
}

Registry& registry() {
  static Registry instance;
  return instance;
}

int64_t config_int(const Json& config, const char* key, const std::string& model) {
  if (!config.contains(key) || !config[key].is_number_integer())
    throw Error("model '" + model + "': its config has no integer '" + key + "'", ErrorKind::runtime);
  return config[key].get<int64_t>();
}

}  // namespace

const ModelEntry& find_model(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.entries.find(name);
}

std::vector<std::string> model_names() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names = r.entries.names();
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> classifier_names() {
  std::vector<std::string> names;
  for (const std::string& name : model_names())
    if (find_model(name).is_classifier()) names.push_back(name);
  return names;
}

void register_model(ModelEntry entry) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.add(std::move(entry));
}

Json model_config(const std::string& name, const Json& overrides) {
  const ModelEntry& entry = find_model(name);
  if (!overrides.is_null() && !overrides.is_object())
    throw Error("model '" + name + "': config overrides must be a JSON object, got " + overrides.dump());
  Json config = entry.default_config.is_null() ? Json::object() : entry.default_config;
  if (overrides.is_object()) config.update(overrides);
  return entry.resolve(config);
}

std::shared_ptr<torch::nn::Module> build_model(const std::string& name, const Json& overrides) {
  return find_model(name).build(model_config(name, overrides));
}

Classifier::Classifier(std::string name, Json config, std::shared_ptr<torch::nn::Module> module, PassFn classify,
                       PassFn features)
    : name_(std::move(name)),
      config_(std::move(config)),
      module_(std::move(module)),
      classify_(std::move(classify)),
      features_(std::move(features)) {}

int64_t Classifier::num_classes() const { return config_int(config_, "num_classes", name_); }
int64_t Classifier::in_channels() const { return config_int(config_, "in_channels", name_); }
int64_t Classifier::image_size() const { return config_int(config_, "resolution", name_); }

Classifier build_classifier(const std::string& name, const Json& overrides) {
  const ModelEntry& entry = find_model(name);
  if (!entry.is_classifier()) throw Error("model '" + name + "' is not an image classifier", ErrorKind::usage);
  Json config = model_config(name, overrides);
  std::shared_ptr<torch::nn::Module> module = entry.build(config);
  return Classifier(name, std::move(config), std::move(module), entry.forward, entry.features);
}

Runnable build_runnable(const std::string& name, const Json& overrides) {
  const ModelEntry& entry = find_model(name);
  Json config = model_config(name, overrides);
  std::shared_ptr<torch::nn::Module> module = entry.build(config);
  std::vector<int64_t> shape = entry.example_shape(config);
  return {name,
          std::move(config),
          std::move(module),
          entry.forward,
          entry.maps ? entry.maps : entry.forward,
          std::move(shape)};
}

}  // namespace zoo::models
