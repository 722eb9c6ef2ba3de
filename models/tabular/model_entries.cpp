#include "models/tabular/model_entries.h"

#include "core/error.h"
#include "core/json_fields.h"
#include "models/tabular/tabular_net.h"

namespace zoo::models {

std::vector<ModelEntry> tabular_model_entries() {
  const auto read = [](const Json& config) {
    return fields_from_json<TabularNetOptions>(config, "tabular_net config");
  };
  ModelEntry e;
  e.name = "tabular_net";
  e.family = "tabular";
  e.description = "the MLP of train_tabular over feature columns (8 numeric features by default)";
  TabularNetOptions defaults;
  defaults.dense = 8;
  e.default_config = fields_to_json(defaults);
  e.resolve = [read](const Json& config) { return fields_to_json(read(config)); };
  e.build = [read](const Json& config) -> std::shared_ptr<torch::nn::Module> { return TabularNet(read(config)).ptr(); };
  e.forward = [](torch::nn::Module& module, const torch::Tensor& rows) {
    auto* net = dynamic_cast<TabularNetImpl*>(&module);
    if (!net) throw Error("tabular_net: the module is not a tabular net", ErrorKind::runtime);
    return net->forward(rows);
  };
  // A row: the numeric features, then one bucket index per categorical slot.
  e.example_shape = [read](const Json& config) {
    const TabularNetOptions o = read(config);
    return std::vector<int64_t>{o.dense + static_cast<int64_t>(o.buckets.size())};
  };
  return {e};
}

}  // namespace zoo::models
