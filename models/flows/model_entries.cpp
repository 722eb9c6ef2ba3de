#include "models/flows/model_entries.h"

#include "core/error.h"
#include "models/flows/flow_model.h"

namespace zoo::models {

namespace {

ModelEntry entry(const std::string& model, const std::string& description) {
  ModelEntry e;
  e.name = model;
  e.family = "flow";
  e.description = description;
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
  e.analyse = [](torch::nn::Module& module, const torch::Tensor& images) {
    auto* flow = dynamic_cast<flows::FlowModelImpl*>(&module);
    if (!flow) throw Error("flow: the module is not a flow model", ErrorKind::runtime);
    return flow->encode(images);
  };
  e.image_shape = [](const Json& config) {
    const flows::FlowModelConfig c = flows::flow_model_config_from_json(config);
    if (c.shape.size() != 3) throw Error("flow config: the analysis needs an image shape [C, H, W]", ErrorKind::usage);
    return c.shape;
  };
  return e;
}

}  // namespace

std::vector<ModelEntry> flow_model_entries() {
  return {
      entry("realnvp", "RealNVP (multi-scale, residual s/t networks), 1x28x28 by default"),
      entry("glow", "Glow (L levels of K steps: actnorm, invertible 1x1 conv, affine coupling), 1x28x28 by default")};
}

}  // namespace zoo::models
