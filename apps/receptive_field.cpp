// receptive_field: what each unit of a convolutional network sees. The network is a zoo
// model, a JSON layer spec or any TorchScript archive (torch.jit.trace / torch.jit.script);
// every layer gets its kernel, stride, padding, dilation, output size, receptive field,
// jump, effective padding and first centre per axis. --verify measures the field of one
// unit by back-propagation and prints it beside the analytic one; --image draws it.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "core/image.h"
#include "core/options.h"
#include "core/runtime.h"
#include "core/strings.h"
#include "models/analysis/jit_layer_graph.h"
#include "models/analysis/layer_spec.h"
#include "models/analysis/receptive_field.h"
#include "models/analysis/receptive_field_check.h"
#include "models/registry.h"

using namespace zoo;
using namespace zoo::models::analysis;

namespace {

using Region = std::array<std::array<int64_t, 2>, 2>;

// "224" or "224,160".
std::array<int64_t, 2> parse_size(const std::string& text) {
  std::array<int64_t, 2> size{0, 0};
  std::istringstream in(text);
  char comma = 0;
  if (!(in >> size[0])) throw Error("--input-size must be H or H,W, got " + text, ErrorKind::usage);
  if (in >> comma) {
    if (comma != ',' || !(in >> size[1])) throw Error("--input-size must be H or H,W, got " + text, ErrorKind::usage);
  } else {
    size[1] = size[0];
  }
  if (!in.eof() || size[0] < 1 || size[1] < 1)
    throw Error("--input-size must be H or H,W, got " + text, ErrorKind::usage);
  return size;
}

Json region_json(const Region& r) {
  return {{"first", {r[0][0], r[1][0]}},
          {"last", {r[0][1], r[1][1]}},
          {"extent", {r[0][1] - r[0][0] + 1, r[1][1] - r[1][0] + 1}}};
}

std::string region_text(const Region& r) {
  char text[160];
  std::snprintf(text, sizeof text, "%lldx%lld pixels, rows %lld-%lld, columns %lld-%lld",
                static_cast<long long>(r[0][1] - r[0][0] + 1), static_cast<long long>(r[1][1] - r[1][0] + 1),
                static_cast<long long>(r[0][0]), static_cast<long long>(r[0][1]), static_cast<long long>(r[1][0]),
                static_cast<long long>(r[1][1]));
  return text;
}

// The picture with everything the unit does not see dimmed and the field outlined in red.
torch::Tensor overlay(torch::Tensor image, const Region& r) {
  const auto rows = torch::indexing::Slice(r[0][0], r[0][1] + 1), cols = torch::indexing::Slice(r[1][0], r[1][1] + 1);
  torch::Tensor out = image * 0.35;
  out.index_put_({torch::indexing::Slice(), rows, cols}, image.index({torch::indexing::Slice(), rows, cols}));
  const torch::Tensor red = torch::tensor({1.0f, 0.0f, 0.0f}).view({3, 1});
  const int64_t line = std::max<int64_t>(1, std::min(image.size(1), image.size(2)) / 150);
  for (int64_t t = 0; t < line; ++t) {
    for (int64_t row : {std::min(r[0][0] + t, r[0][1]), std::max(r[0][1] - t, r[0][0])})
      out.index_put_({torch::indexing::Slice(), row, cols}, red);
    for (int64_t col : {std::min(r[1][0] + t, r[1][1]), std::max(r[1][1] - t, r[1][0])})
      out.index_put_({torch::indexing::Slice(), rows, col}, red.expand({3, r[0][1] - r[0][0] + 1}));
  }
  return out;
}

struct FieldOptions : CommonOptions {
  std::string model, spec, torchscript;  // exactly one
  std::vector<std::string> set;
  std::string input_size;  // H or H,W
  std::string layer;       // empty: the last feature map
  std::string format = "table";
  bool verify = false;
  std::string image, out;
};

Flags<FieldOptions> flags() {
  using O = FieldOptions;
  Flags<O> flags("receptive_field",
                 "Receptive field, jump and effective padding of every layer of a convolutional network");
  flags.common()
      .text("model", "a zoo model: " + or_list(models::model_names()), &O::model)
      .text("spec", "a JSON layer spec (a list or graph of conv/pool layers)", &O::spec)
      .text("torchscript", "a network saved with torch.jit.trace or torch.jit.script", &O::torchscript)
      .texts("set", "zoo model config override KEY=VALUE (e.g. --set phi=1.5)", &O::set)
      .text("input-size", "H or H,W (default: the zoo model's resolution, the picture's size, else 224)",
            &O::input_size)
      .text("layer", "the layer --verify and --image ask about (default: the last feature map)", &O::layer)
      .format(&O::format)
      .flag("verify", "back-propagate from the layer's centre unit and compare the field it measures", &O::verify)
      .text("image", "a picture to draw the centre unit's receptive field on (sets the input size)", &O::image)
      .text("out", "where --image writes the overlay (.png)", &O::out);
  return flags;
}

int run(int argc, char** argv) {
  const FieldOptions o = flags().parse(argc, argv);
  setup_runtime(o);
  const std::string &format = o.format, &model = o.model, &spec = o.spec, &script = o.torchscript,
                    &image_path = o.image, &out_path = o.out, &input_size = o.input_size;
  if (!model.empty() + !spec.empty() + !script.empty() != 1)
    throw Error("give exactly one of --model, --spec and --torchscript", ErrorKind::usage);
  if (image_path.empty() != out_path.empty()) throw Error("--image and --out go together", ErrorKind::usage);

  torch::Tensor picture;
  std::array<int64_t, 2> size{224, 224};
  if (!image_path.empty()) {
    picture = load_image(image_path);
    size = {picture.size(1), picture.size(2)};
  }
  if (!input_size.empty()) {
    const auto given = parse_size(input_size);
    if (picture.defined() && given != size)
      throw Error("--input-size " + input_size + " differs from the picture's size", ErrorKind::usage);
    size = given;
  }

  LayerGraph graph;
  if (!model.empty()) {
    const models::Runnable net = models::build_runnable(model, key_value_overrides(o.set));
    if (!net.images())
      throw Error("--model " + model + ": a network of vectors has no receptive field", ErrorKind::usage);
    if (input_size.empty() && !picture.defined()) size = {net.example_shape[1], net.example_shape[2]};
    graph = layer_graph_from_module(*net.module, [&](const torch::Tensor& x) { return net.maps(*net.module, x); },
                                    {1, net.example_shape[0], size[0], size[1]});
  } else if (!spec.empty()) {
    graph = read_layer_spec(spec);
  } else {
    graph = layer_graph_from_torchscript(script);
  }

  const ReceptiveFields fields = receptive_fields(graph, size);
  const int layer = o.layer.empty() ? fields.last_map() : fields.index(o.layer);
  const LayerField& chosen = fields.layers[layer];
  const Region analytic = centre_unit_region(chosen, size);
  Json report = to_json(fields);
  report["source"] = !model.empty() ? model : !spec.empty() ? spec : script;
  report["layer"] = {{"name", chosen.name}, {"centre_unit_sees", region_json(analytic)}};
  std::string text = format_table(fields) + "centre unit of " + chosen.name + " sees " + region_text(analytic) +
                     (chosen.global_context ? " (and the whole input as context: global pooling or attention)" : "") +
                     "\n";

  if (o.verify) {
    const Region measured = empirical_region(graph, size, layer);
    const bool agree = measured == analytic;
    report["verify"] = {{"empirical", region_json(measured)}, {"agrees", agree}};
    text +=
        "back-propagation: " + region_text(measured) + (agree ? " (agrees)" : " (DIFFERS from the analysis)") + "\n";
    if (chosen.global_context) {
      const Region whole = empirical_region(graph, size, layer, /*global_context=*/true);
      report["verify"]["with_global_context"] = region_json(whole);
      text += "with the global pooling paths: " + region_text(whole) + "\n";
    }
  }
  if (picture.defined()) {
    const std::string written = save_image(out_path, overlay(picture, analytic));
    text += "wrote " + written + "\n";
  }
  std::cout << (format == "json" ? report.dump(2) + "\n" : text);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
