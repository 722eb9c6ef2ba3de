// model_info: what a registered model costs — every convolution, linear layer, matrix
// product, norm and embedding with its output shape, parameters and multiply-adds on one
// input size, and the totals — and, for convolutional networks of images, what its last
// feature map sees (receptive field, jump, effective padding). Any model of the registry:
// classifiers, the diffusion networks, the flows, the VAE, the tabular net.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>

#include "core/error.h"
#include "core/options.h"
#include "core/runtime.h"
#include "core/strings.h"
#include "models/analysis/jit_layer_graph.h"
#include "models/analysis/model_info.h"
#include "models/analysis/receptive_field.h"
#include "models/registry.h"

using namespace zoo;

namespace {

struct InfoOptions : CommonOptions {
  std::string model;
  int64_t image_size = 0, num_classes = 0, in_channels = 0;  // 0: the model's own
  std::vector<std::string> set;
  std::string format = "table";
};

Flags<InfoOptions> flags() {
  using O = InfoOptions;
  Flags<O> flags(
      "model_info",
      "Per-layer output shapes, parameters and multiply-adds of a registered model, and its receptive field");
  flags.common()
      .required("model", "model name: " + or_list(models::model_names()), &O::model)
      .integer("image-size", "input height and width (0 = the model's own resolution)", &O::image_size,
               Bounds::at_least(0))
      .integer("num-classes", "number of classes (0 = the model's default)", &O::num_classes, Bounds::at_least(0))
      .integer("in-channels", "input channels (0 = the model's default)", &O::in_channels, Bounds::at_least(0))
      .texts("set", "model config override KEY=VALUE, VALUE read as JSON (e.g. --set phi=1.5 --set same_padding=true)",
             &O::set)
      .format(&O::format);
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] {
    const InfoOptions options = flags().parse(argc, argv);
    const Runtime runtime = setup_runtime(options);
    const std::string& format = options.format;
    const int64_t image_size = options.image_size, num_classes = options.num_classes, in_channels = options.in_channels;
    const std::string& name = options.model;
    Json overrides = key_value_overrides(options.set);
    if (num_classes > 0) overrides["num_classes"] = num_classes;
    if (in_channels > 0) overrides["in_channels"] = in_channels;
    const models::Runnable net = models::build_runnable(name, overrides);
    net.module->to(runtime.device);
    std::vector<int64_t> shape = net.example_shape;
    if (image_size > 0 && !net.images())
      throw Error("--image-size: model '" + name + "' takes vectors, not images", ErrorKind::usage);
    if (image_size > 0) shape[1] = shape[2] = image_size;
    shape.insert(shape.begin(), 1);
    const auto forward = [&](const torch::Tensor& x) { return net(x); };
    const models::analysis::ModelInfo info = models::analysis::model_info(*net.module, forward, shape);

    // What the last feature map sees, for networks of images with convolutions.
    const bool convolutional = std::any_of(info.layers.begin(), info.layers.end(),
                                           [](const auto& layer) { return layer.type.rfind("Conv", 0) == 0; });
    std::optional<models::analysis::ReceptiveFields> fields;
    if (net.images() && convolutional)
      fields = models::analysis::receptive_fields(
          models::analysis::layer_graph_from_module(
              *net.module, [&](const torch::Tensor& x) { return net.maps(*net.module, x); }, shape),
          {shape[2], shape[3]});
    if (format == "json") {
      Json report = models::analysis::to_json(info);
      report["model"] = name;
      report["config"] = net.config;
      if (fields) {
        const models::analysis::LayerField& last = fields->layers[fields->last_map()];
        report["receptive_field"] = {
            {"layer", last.name},
            {"field", {last.axis[0].field, last.axis[1].field}},
            {"jump", {last.axis[0].jump, last.axis[1].jump}},
            {"effective_padding", {last.axis[0].effective_padding(), last.axis[1].effective_padding()}},
            {"global_context", last.global_context},
            {"aligned", fields->aligned()}};
      }
      std::cout << report.dump(2) << std::endl;
    } else {
      std::cout << name << "\n" << models::analysis::format_table(info);
      if (fields) {
        const models::analysis::LayerField& last = fields->layers[fields->last_map()];
        std::printf("receptive field of %s: %g pixels, jump %g, effective padding %g%s; paths %s\n", last.name.c_str(),
                    last.axis[0].field, last.axis[0].jump, last.axis[0].effective_padding(),
                    last.global_context ? ", and the whole input as context (global pooling or attention)" : "",
                    fields->aligned() ? "aligned" : "MISALIGNED");
      }
    }
    return 0;
  });
}
