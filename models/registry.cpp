#include "models/registry.h"

#include <map>
#include <mutex>

#include "core/error.h"
#include "models/diffusion/model_entries.h"
#include "models/efficientnet/model_entries.h"
#include "models/flows/model_entries.h"

namespace zoo::models {
namespace {

struct Registry {
  Registry();
  std::mutex mutex;
  std::map<std::string, ModelEntry> entries;  // a map: references stay valid as entries are added
};

void add(Registry& registry, ModelEntry entry) {
  if (entry.name.empty() || !entry.build)
    throw Error("a model entry needs a name and a build function", ErrorKind::runtime);
  const std::string name = entry.name;
  if (!registry.entries.emplace(name, std::move(entry)).second)
    throw Error("model '" + name + "' is registered twice", ErrorKind::runtime);
}

// Every family lists its entries here, explicitly: self-registering static objects would
// be dropped by the linker from a static library.
Registry::Registry() {
  for (ModelEntry& e : efficientnet_model_entries()) add(*this, std::move(e));
  for (ModelEntry& e : diffusion_model_entries()) add(*this, std::move(e));
  for (ModelEntry& e : flow_model_entries()) add(*this, std::move(e));
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
  const auto it = r.entries.find(name);
  if (it != r.entries.end()) return it->second;
  std::string known;
  for (const auto& item : r.entries) known += (known.empty() ? "" : ", ") + item.first;
  throw Error("unknown model '" + name + "' (known: " + known + ")", ErrorKind::usage);
}

std::vector<std::string> model_names() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& item : r.entries) names.push_back(item.first);
  return names;
}

void register_model(ModelEntry entry) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  add(r, std::move(entry));
}

Json model_config(const std::string& name, const Json& overrides) {
  const ModelEntry& entry = find_model(name);
  if (!overrides.is_null() && !overrides.is_object())
    throw Error("model '" + name + "': config overrides must be a JSON object, got " + overrides.dump());
  Json config = entry.default_config.is_null() ? Json::object() : entry.default_config;
  if (overrides.is_object()) config.update(overrides);
  return entry.resolve ? entry.resolve(config) : config;
}

std::shared_ptr<torch::nn::Module> build_model(const std::string& name, const Json& overrides) {
  return find_model(name).build(model_config(name, overrides));
}

Classifier::Classifier(std::string name, Json config, std::shared_ptr<torch::nn::Module> module, ClassifyFn classify,
                       ClassifyFn features)
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
  return Classifier(name, std::move(config), std::move(module), entry.classify, entry.features);
}

ImageModel build_image_model(const std::string& name, const Json& overrides) {
  const ModelEntry& entry = find_model(name);
  if (entry.is_classifier()) {
    Classifier net = build_classifier(name, overrides);
    return {
        name, net.config(), net.module_ptr(), entry.classify, {net.in_channels(), net.image_size(), net.image_size()}};
  }
  if (!entry.analyse || !entry.image_shape) throw Error("model '" + name + "' is not an image model", ErrorKind::usage);
  Json config = model_config(name, overrides);
  std::shared_ptr<torch::nn::Module> module = entry.build(config);
  std::vector<int64_t> shape = entry.image_shape(config);
  return {name, std::move(config), std::move(module), entry.analyse, std::move(shape)};
}

}  // namespace zoo::models
