#include "weights/efficientnet_names.h"

#include <map>

#include "core/error.h"

namespace zoo::weights {

NameScheme parse_name_scheme(const std::string& name) {
  if (name == "torchvision") return NameScheme::torchvision;
  if (name == "timm") return NameScheme::timm;
  if (name == "lukemelas") return NameScheme::lukemelas;
  throw Error("unknown weight naming '" + name + "' (expected torchvision, timm or lukemelas)", ErrorKind::usage);
}

std::string to_string(NameScheme scheme) {
  switch (scheme) {
    case NameScheme::torchvision: return "torchvision";
    case NameScheme::timm: return "timm";
    case NameScheme::lukemelas: return "lukemelas";
  }
  return "?";
}

namespace {

enum class Unit { conv, conv_bias, norm, linear };

std::vector<std::string> suffixes(Unit unit) {
  switch (unit) {
    case Unit::conv: return {"weight"};
    case Unit::conv_bias:
    case Unit::linear: return {"weight", "bias"};
    case Unit::norm: return {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"};
  }
  return {};
}

// One layer of the network under its three names (index: torchvision, timm, lukemelas).
struct Layer {
  Unit unit;
  std::string names[3];
};

std::vector<Layer> layers(const std::vector<StageLayout>& stages) {
  std::vector<Layer> out = {{Unit::conv, {"features.0.0", "conv_stem", "_conv_stem"}},
                            {Unit::norm, {"features.0.1", "bn1", "_bn0"}}};
  int64_t flat = 0;
  for (size_t s = 0; s < stages.size(); ++s) {
    for (int64_t b = 0; b < stages[s].blocks; ++b, ++flat) {
      const std::string tv = "features." + std::to_string(s + 1) + "." + std::to_string(b) + ".block.";
      const std::string timm = "blocks." + std::to_string(s) + "." + std::to_string(b) + ".";
      const std::string luke = "_blocks." + std::to_string(flat) + ".";
      int i = 0;  // torchvision numbers the sub-blocks in order
      auto next = [&] { return tv + std::to_string(i++); };
      if (stages[s].expand) {
        const std::string e = next();
        out.push_back({Unit::conv, {e + ".0", timm + "conv_pw", luke + "_expand_conv"}});
        out.push_back({Unit::norm, {e + ".1", timm + "bn1", luke + "_bn0"}});
      }
      // timm's blocks without expansion are DepthwiseSeparableConv: bn1 follows the
      // depthwise conv and conv_pw/bn2 are the projection.
      const bool separable = !stages[s].expand;
      const std::string dw = next();
      out.push_back({Unit::conv, {dw + ".0", timm + "conv_dw", luke + "_depthwise_conv"}});
      out.push_back({Unit::norm, {dw + ".1", timm + (separable ? "bn1" : "bn2"), luke + "_bn1"}});
      const std::string se = next();
      out.push_back({Unit::conv_bias, {se + ".fc1", timm + "se.conv_reduce", luke + "_se_reduce"}});
      out.push_back({Unit::conv_bias, {se + ".fc2", timm + "se.conv_expand", luke + "_se_expand"}});
      const std::string project = next();
      out.push_back(
          {Unit::conv, {project + ".0", timm + (separable ? "conv_pw" : "conv_pwl"), luke + "_project_conv"}});
      out.push_back({Unit::norm, {project + ".1", timm + (separable ? "bn2" : "bn3"), luke + "_bn2"}});
    }
  }
  const std::string head = "features." + std::to_string(stages.size() + 1);
  out.push_back({Unit::conv, {head + ".0", "conv_head", "_conv_head"}});
  out.push_back({Unit::norm, {head + ".1", "bn2", "_bn1"}});
  out.push_back({Unit::linear, {"classifier.1", "classifier", "_fc"}});
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> efficientnet_name_pairs(const std::vector<StageLayout>& stages,
                                                                         NameScheme scheme) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const Layer& layer : layers(stages))
    for (const std::string& suffix : suffixes(layer.unit))
      pairs.emplace_back(layer.names[0] + "." + suffix, layer.names[static_cast<int>(scheme)] + "." + suffix);
  return pairs;
}

NamedTensors rename_efficientnet(const NamedTensors& tensors, const std::vector<StageLayout>& stages, NameScheme from,
                                 NameScheme to) {
  std::map<std::string, std::string> rename;
  const auto from_pairs = efficientnet_name_pairs(stages, from), to_pairs = efficientnet_name_pairs(stages, to);
  for (size_t i = 0; i < from_pairs.size(); ++i) rename[from_pairs[i].second] = to_pairs[i].second;
  NamedTensors renamed;
  std::vector<std::string> unknown;
  for (const auto& [name, tensor] : tensors) {
    auto it = rename.find(name);
    if (it == rename.end())
      unknown.push_back(name);
    else
      renamed.emplace_back(it->second, tensor);
  }
  if (!unknown.empty())
    throw Error(std::to_string(unknown.size()) + " tensor name(s) are not " + to_string(from) +
                " EfficientNet names for this model, e.g. '" + unknown.front() + "' (check --from and --model)");
  return renamed;
}

}  // namespace zoo::weights
