#include "models/flows/model_entries.h"

#include "core/error.h"
#include "models/flows/flow_model.h"
#include "models/flows/flow_models.h"

namespace zoo::models {

namespace {

ModelEntry entry(const std::string& model, const std::string& description) {
  ModelEntry e;
  e.name = model;
  e.family = "flow";
  e.description = description + ", 1x28x28 by default";
  flows::FlowModelConfig defaults;
  defaults.model = model;
  defaults.shape = {1, 28, 28};
  e.default_config = to_json(defaults);
  e.resolve = [](const Json& config) {
    return flows::FlowModel(flows::flow_model_config_from_json(config))->config_json();
  };
  e.build = [](const Json& config) -> std::shared_ptr<torch::nn::Module> {
    return flows::FlowModel(flows::flow_model_config_from_json(config)).ptr();
  };
  e.forward = [](torch::nn::Module& module, const torch::Tensor& examples) {
    auto* flow = dynamic_cast<flows::FlowModelImpl*>(&module);
    if (!flow) throw Error("flow: the module is not a flow model", ErrorKind::runtime);
    return flow->encode(examples);
  };
  e.example_shape = [](const Json& config) { return flows::flow_model_config_from_json(config).shape; };
  return e;
}

}  // namespace

std::vector<ModelEntry> flow_model_entries() {
  std::vector<ModelEntry> entries;
  for (const auto& kind : flows::flow_kinds().entries()) entries.push_back(entry(kind.name, kind.value.description));
  return entries;
}

}  // namespace zoo::models
