#include "models/analysis/model_info.h"

#include <cstdio>
#include <unordered_map>

#include "models/analysis/layer_recorder.h"
#include "models/nn/eval_mode.h"

namespace zoo::models::analysis {
namespace {

int64_t count_params(const torch::nn::Module& module, bool recurse) {
  int64_t n = 0;
  for (const auto& p : module.parameters(recurse))
    if (p.defined()) n += p.numel();
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

ModelInfo model_info(torch::nn::Module& model, const ForwardFn& forward, const std::vector<int64_t>& input_shape) {
  std::unordered_map<const torch::nn::Module*, std::string> names;
  names.emplace(&model, "");
  for (const auto& item : model.named_modules("", /*include_self=*/false))
    names.emplace(item.value().get(), item.key());

  std::vector<LayerRecord> records;
  {
    const EvalMode eval(model);
    torch::NoGradGuard no_grad;
    LayerRecording recording;
    forward(zeros_for(model, input_shape));
    records = recording.records();
  }

  ModelInfo info;
  info.input_shape = input_shape;
  info.total_params = count_params(model, true);
  for (const LayerRecord& r : records) {
    LayerInfo layer;
    const auto it = names.find(r.module);
    layer.name = it != names.end() ? it->second : "?";
    layer.type = r.type;
    layer.output_shape = r.output_shape;
    layer.params = count_params(*r.module, false);
    layer.macs = r.macs;
    info.total_macs += r.macs;
    info.layers.push_back(std::move(layer));
  }
  return info;
}

Json to_json(const ModelInfo& info) {
  Json layers = Json::array();
  for (const LayerInfo& l : info.layers)
    layers.push_back(
        {{"name", l.name}, {"type", l.type}, {"output_shape", l.output_shape}, {"params", l.params}, {"macs", l.macs}});
  return {{"input_shape", info.input_shape},
          {"layers", layers},
          {"total_params", info.total_params},
          {"total_macs", info.total_macs},
          {"gmacs", static_cast<double>(info.total_macs) / 1e9}};
}

std::string format_table(const ModelInfo& info) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-36s %-12s %-22s %12s %16s\n", "layer", "type", "output", "params", "MACs");
  out += line;
  for (const LayerInfo& l : info.layers) {
    std::snprintf(line, sizeof line, "%-36s %-12s %-22s %12lld %16lld\n", l.name.c_str(), l.type.c_str(),
                  shape_string(l.output_shape).c_str(), static_cast<long long>(l.params),
                  static_cast<long long>(l.macs));
    out += line;
  }
  std::snprintf(line, sizeof line, "input %s: %lld parameters (%.2fM), %lld multiply-adds (%.3fB)\n",
                shape_string(info.input_shape).c_str(), static_cast<long long>(info.total_params),
                static_cast<double>(info.total_params) / 1e6, static_cast<long long>(info.total_macs),
                static_cast<double>(info.total_macs) / 1e9);
  out += line;
  return out;
}

}  // namespace zoo::models::analysis
