// classify: runs a trained classifier on image files (prints the top classes) or on a
// tensor file (writes the logits), for pipelines and parity checks.
#include <cstdio>
#include <iostream>

#include "core/error.h"
#include "core/image.h"
#include "core/options.h"
#include "core/runtime.h"
#include "train/load_classifier.h"
#include "weights/safetensors.h"

using namespace zoo;

namespace {

std::vector<torch::Tensor> load_images(const std::vector<std::string>& paths, const train::LoadedClassifier& loaded) {
  std::vector<torch::Tensor> images;
  for (const std::string& path : paths) images.push_back(load_image(path, loaded.input.channels == 1));
  return images;
}

struct ClassifyOptions : CommonOptions {
  std::string checkpoint, model;
  int64_t num_classes = 0;
  std::vector<std::string> image;
  std::string input, output;
  int64_t topk = 5;
  std::string format = "table";
  bool allow_unknown_globals = false;
};

Flags<ClassifyOptions> flags() {
  using O = ClassifyOptions;
  Flags<O> flags("classify", "Classify images, or turn an input tensor file into logits, with a trained classifier");
  flags.common()
      .required("checkpoint", "run directory, zoo checkpoint, or .pth / TorchScript / safetensors weights",
                &O::checkpoint)
      .text("model", "model name, for weight files that carry no config", &O::model)
      .integer("num-classes", "number of classes, for weight files that carry no config (0 = the model's)",
               &O::num_classes, Bounds::at_least(0))
      .texts("image", "image files to classify", &O::image)
      .text("input", "a safetensors file holding one tensor [N, C, H, W] of prepared inputs", &O::input)
      .text("output", "with --input: where to write the logits (safetensors, tensor 'logits')", &O::output)
      .integer("topk", "classes to show per image", &O::topk, Bounds::at_least(1))
      .format(&O::format)
      .flag("allow-unknown-globals",
            "read a .pth that names Python globals beyond tensors and plain containers "
            "(never run; only for files you trust)",
            &O::allow_unknown_globals);
  return flags;
}

int run(int argc, char** argv) {
  const ClassifyOptions options = flags().parse(argc, argv);
  const Runtime runtime = setup_runtime(options);
  const bool tensor_mode = !options.input.empty();
  if (tensor_mode == !options.image.empty())
    throw Error("give either --image FILE... or --input FILE --output FILE", ErrorKind::usage);
  if (tensor_mode && options.output.empty()) throw Error("--input needs --output for the logits", ErrorKind::usage);

  train::LoadedClassifier loaded =
      train::load_classifier(options.checkpoint, options.model, options.num_classes, {options.allow_unknown_globals});
  loaded.classifier.module().to(runtime.device);
  loaded.classifier.module().eval();
  torch::NoGradGuard no_grad;

  if (tensor_mode) {
    const weights::SafeTensors input = weights::read_safetensors(options.input);
    if (input.tensors.size() != 1)
      throw Error(input.source + ": expected exactly one tensor, found " + std::to_string(input.tensors.size()));
    const torch::Tensor x = input.tensors.front().second;
    if (x.dim() != 4 || x.size(1) != loaded.classifier.in_channels())
      throw Error(input.source + ": expected inputs [N, " + std::to_string(loaded.classifier.in_channels()) +
                  ", H, W], got " + c10::str(x.sizes()));
    const torch::Tensor logits = loaded.classifier(x.to(runtime.device, torch::kFloat)).cpu();
    weights::write_safetensors(options.output, {{"logits", logits}});
    std::printf("wrote logits %s to %s\n", c10::str(logits.sizes()).c_str(), options.output.c_str());
    return 0;
  }

  const std::vector<std::string>& paths = options.image;
  const torch::Tensor probabilities =
      torch::softmax(loaded.classifier(train::classifier_inputs(loaded, load_images(paths, loaded)).to(runtime.device)),
                     1)
          .cpu();
  const int64_t k = std::min<int64_t>(options.topk, probabilities.size(1));
  const auto [values, indices] = probabilities.topk(k, 1);
  Json report = Json::array();
  for (size_t i = 0; i < paths.size(); ++i) {
    Json top = Json::array();
    for (int64_t j = 0; j < k; ++j) {
      const int64_t c = indices[static_cast<int64_t>(i)][j].item<int64_t>();
      top.push_back({{"class", c},
                     {"name", loaded.classes.at(static_cast<size_t>(c))},
                     {"probability", values[static_cast<int64_t>(i)][j].item<double>()}});
    }
    report.push_back({{"image", paths[i]}, {"top", top}});
  }
  if (options.format == "json") {
    std::cout << report.dump(2) << std::endl;
  } else {
    for (const Json& entry : report) {
      std::printf("%s\n", entry["image"].get<std::string>().c_str());
      for (const Json& t : entry["top"])
        std::printf("  %6.2f%%  %s\n", 100 * t["probability"].get<double>(), t["name"].get<std::string>().c_str());
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
