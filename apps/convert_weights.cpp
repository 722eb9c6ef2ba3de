// convert_weights: look into weight files and convert them between safetensors, PyTorch
// .pth and TorchScript, renaming timm or lukemelas EfficientNet weights to zoo's
// (torchvision's) names on the way.
//   convert_weights inspect FILE [--format table|json]
//   convert_weights convert IN OUT [--from torchvision|timm|lukemelas] [--model NAME] [--to FORMAT]
// Both read a .pth as torch.load(weights_only=True) would, unless --allow-unknown-globals
// says the file is trusted.
#include <cstdio>
#include <iostream>

#include "core/error.h"
#include "core/options.h"
#include "core/runtime.h"
#include "models/efficientnet/config.h"
#include "models/registry.h"
#include "weights/efficientnet_names.h"
#include "weights/state_dict.h"
#include "weights/weight_file.h"

using namespace zoo;

namespace {

// The sub-command and its files come first; everything from the first flag on is flags.
struct Positional {
  std::string command;
  std::vector<std::string> files;
  std::vector<const char*> rest;
};

Positional split_arguments(int argc, char** argv) {
  Positional p;
  p.rest.push_back(argv[0]);
  int i = 1;
  for (; i < argc && argv[i][0] != '-'; ++i) (p.command.empty() ? p.command : p.files.emplace_back()) = argv[i];
  for (; i < argc; ++i) p.rest.push_back(argv[i]);
  return p;
}

struct ConvertOptions : CommonOptions {
  std::string format = "table";
  std::string from = "torchvision";
  std::string model;
  std::string to;  // empty: from OUT's extension
  bool allow_unknown_globals = false;
};

Flags<ConvertOptions> flags() {
  using O = ConvertOptions;
  Flags<O> flags("convert_weights",
                 "convert_weights inspect FILE | convert_weights convert IN OUT: weight files between "
                 "safetensors, PyTorch .pth and TorchScript");
  flags.common()
      .format(&O::format, {"table", "json"}, "inspect: the report's form")
      .choice("from", "convert: names in IN (torchvision: zoo's own)", &O::from, {"torchvision", "timm", "lukemelas"})
      .text("model", "convert: the zoo model the weights belong to (checks them; needed for timm/lukemelas)", &O::model)
      .text("to", "convert: output format safetensors, pth or torchscript (default: from OUT's extension)", &O::to)
      .flag("allow-unknown-globals",
            "read .pth files that name Python globals beyond tensors and plain containers "
            "(never run; only for files you trust)",
            &O::allow_unknown_globals);
  return flags;
}

int inspect(const std::string& path, const ConvertOptions& options) {
  const weights::WeightFormat format = weights::detect_weight_format(path);
  const weights::NamedTensors tensors = weights::read_weights(path, {options.allow_unknown_globals});
  int64_t elements = 0, bytes = 0;
  Json list = Json::array();
  for (const auto& [name, tensor] : tensors) {
    elements += tensor.numel();
    bytes += tensor.numel() * static_cast<int64_t>(tensor.element_size());
    list.push_back(
        {{"name", name}, {"shape", tensor.sizes().vec()}, {"dtype", std::string(c10::toString(tensor.scalar_type()))}});
  }
  const Json report = {{"file", path},           {"format", weights::format_name(format)},
                       {"tensors", list.size()}, {"elements", elements},
                       {"bytes", bytes},         {"entries", list}};
  if (options.format == "json") {
    std::cout << report.dump(2) << std::endl;
    return 0;
  }
  for (const Json& entry : list)
    std::printf("%-60s %-10s %s\n", entry["name"].get<std::string>().c_str(), entry["dtype"].get<std::string>().c_str(),
                c10::str(entry["shape"].get<std::vector<int64_t>>()).c_str());
  std::printf("%s: %s, %zu tensors, %lld elements, %.2f MB\n", path.c_str(), weights::format_name(format).c_str(),
              list.size(), static_cast<long long>(elements), static_cast<double>(bytes) / 1e6);
  return 0;
}

std::vector<weights::StageLayout> layout_of(const models::EfficientNetConfig& config) {
  std::vector<weights::StageLayout> stages;
  for (const auto& stage : models::scaled_stages(config)) {
    if (stage.block != models::BlockKind::mbconv)
      throw Error("timm and lukemelas names are mapped for the EfficientNet B family only", ErrorKind::usage);
    stages.push_back({stage.repeats, stage.expand_ratio != 1});
  }
  return stages;
}

int convert(const std::string& in, const std::string& out, const ConvertOptions& options) {
  const weights::NameScheme from = weights::parse_name_scheme(options.from);
  const std::string& model = options.model;
  if (from != weights::NameScheme::torchvision && model.empty())
    throw Error("--from " + weights::to_string(from) + " needs --model NAME to know the network's layout",
                ErrorKind::usage);
  const weights::WeightFormat to =
      options.to.empty() ? weights::format_for_path(out) : weights::parse_weight_format(options.to);
  weights::NamedTensors tensors = weights::read_weights(in, {options.allow_unknown_globals});
  std::map<std::string, std::string> metadata;
  if (!model.empty()) {
    Json overrides = Json::object();
    // lukemelas's network pads like TensorFlow ("same"); the config says so, and the
    // converted file carries that config, so the outputs match the original's.
    if (from == weights::NameScheme::lukemelas) overrides["same_padding"] = true;
    // The classifier's size comes from the file itself.
    for (const auto& [name, tensor] : tensors)
      if (name == "classifier.1.weight" || name == "classifier.weight" || name == "_fc.weight")
        overrides["num_classes"] = tensor.size(0);
    const Json config = models::model_config(model, overrides);
    if (from != weights::NameScheme::torchvision)
      tensors = weights::rename_efficientnet(tensors, layout_of(models::efficientnet_config_from_json(config)), from,
                                             weights::NameScheme::torchvision);
    // Loading into the real model checks every name and shape before anything is written.
    weights::load_state_dict(*models::build_model(model, config), tensors, /*strict=*/true);
    metadata["zoo.model"] = Json{{"model", model}, {"config", config}}.dump();
  }
  if (to != weights::WeightFormat::safetensors && !metadata.empty())
    std::fprintf(stderr, "note: %s files carry no model config; pass --model %s when reading %s\n",
                 weights::format_name(to).c_str(), model.c_str(), out.c_str());
  weights::write_weights(out, to, tensors, metadata);
  std::printf("wrote %zu tensors to %s (%s)\n", tensors.size(), out.c_str(), weights::format_name(to).c_str());
  return 0;
}

int run(int argc, char** argv) {
  const Positional args = split_arguments(argc, argv);
  const ConvertOptions options = flags().parse(static_cast<int>(args.rest.size()), args.rest.data());
  setup_runtime(options);
  if (args.command == "inspect" && args.files.size() == 1) return inspect(args.files[0], options);
  if (args.command == "convert" && args.files.size() == 2) return convert(args.files[0], args.files[1], options);
  throw Error("usage: convert_weights inspect FILE | convert_weights convert IN OUT [flags] (see --help)",
              ErrorKind::usage);
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
