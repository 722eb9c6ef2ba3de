// model_info: what a registered model costs — every convolution, norm and linear layer
// with its output shape, parameters and multiply-adds on one input size, and the totals —
// and what its last feature map sees (receptive field, jump, effective padding).
#include <cstdio>
#include <iostream>

#include "core/cli.h"
#include "core/error.h"
#include "core/runtime.h"
#include "models/analysis/jit_layer_graph.h"
#include "models/analysis/model_info.h"
#include "models/analysis/receptive_field.h"
#include "models/registry.h"

using namespace zoo;

int main(int argc, char** argv) {
  return run_main([&] {
    std::string names;
    for (const std::string& n : models::model_names()) names += (names.empty() ? "" : ", ") + n;
    Cli cli("model_info",
            "Per-layer output shapes, parameters and multiply-adds of a registered model, and its receptive field");
    cli.common()
        .required("model", "model name: " + names)
        .integer("image-size", "input height and width (0 = the model's own resolution)", 0)
        .integer("num-classes", "number of classes (0 = the model's default)", 0)
        .integer("in-channels", "input channels (0 = the model's default)", 0)
        .texts("set",
               "model config override KEY=VALUE, VALUE read as JSON (e.g. --set phi=1.5 --set same_padding=true)")
        .text("format", "table or json", "table");
    const Json options = cli.parse(argc, argv);
    const Runtime runtime = setup_runtime(options);
    const std::string format = options["format"];
    if (format != "table" && format != "json") throw Error("--format must be table or json", ErrorKind::usage);
    const int64_t image_size = options["image_size"], num_classes = options["num_classes"],
                  in_channels = options["in_channels"];
    if (image_size < 0) throw Error("--image-size must be positive", ErrorKind::usage);
    if (num_classes < 0) throw Error("--num-classes must be positive", ErrorKind::usage);
    if (in_channels < 0) throw Error("--in-channels must be positive", ErrorKind::usage);

    const std::string name = options["model"];
    Json overrides = key_value_overrides(options["set"]);
    if (num_classes > 0) overrides["num_classes"] = num_classes;
    if (in_channels > 0) overrides["in_channels"] = in_channels;
    const models::ImageModel net = models::build_image_model(name, overrides);
    net.module->to(runtime.device);
    const int64_t size = image_size > 0 ? image_size : net.image_shape[1];
    const std::vector<int64_t> shape{1, net.image_shape[0], size, size};
    const auto forward = [&](const torch::Tensor& x) { return net(x); };

    const models::analysis::ModelInfo info = models::analysis::model_info(*net.module, forward, shape);
    const models::analysis::ReceptiveFields fields = models::analysis::receptive_fields(
        models::analysis::layer_graph_from_module(*net.module, forward, shape), {size, size});
    const models::analysis::LayerField& last = fields.layers[fields.last_map()];
    if (format == "json") {
      Json report = models::analysis::to_json(info);
      report["model"] = name;
      report["config"] = net.config;
      report["receptive_field"] = {
          {"layer", last.name},
          {"field", {last.axis[0].field, last.axis[1].field}},
          {"jump", {last.axis[0].jump, last.axis[1].jump}},
          {"effective_padding", {last.axis[0].effective_padding(), last.axis[1].effective_padding()}},
          {"global_context", last.global_context},
          {"aligned", fields.aligned()}};
      std::cout << report.dump(2) << std::endl;
    } else {
      std::cout << name << "\n" << models::analysis::format_table(info);
      std::printf("receptive field of %s: %g pixels, jump %g, effective padding %g%s; paths %s\n", last.name.c_str(),
                  last.axis[0].field, last.axis[0].jump, last.axis[0].effective_padding(),
                  last.global_context ? ", and the whole input as context (global pooling or attention)" : "",
                  fields.aligned() ? "aligned" : "MISALIGNED");
    }
    return 0;
  });
}
