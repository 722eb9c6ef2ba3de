// classify: runs a trained classifier on image files (prints the top classes) or on a
// tensor file (writes the logits), for pipelines and parity checks.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/cli.h"
#include "core/error.h"
#include "core/image.h"
#include "core/runtime.h"
#include "data/input_spec.h"
#include "models/registry.h"
#include "weights/checkpoint.h"
#include "weights/state_dict.h"
#include "weights/weight_file.h"

using namespace zoo;

namespace {

struct LoadedClassifier {
  models::Classifier classifier;
  Json input;  // the InputSpec as JSON, or null when the weights came without one
  std::vector<std::string> classes;
};

// A zoo checkpoint carries its model config; any other weight file (a PyTorch .pth,
// TorchScript or safetensors export) is read with --model NAME beside it.
LoadedClassifier load(const Json& options) {
  const std::string path = options["checkpoint"];
  const std::string model = options["model"];
  weights::NamedTensors tensors;
  Json saved;
  if (std::filesystem::is_directory(path) || weights::detect_weight_format(path) == weights::WeightFormat::safetensors) {
    weights::ModelCheckpoint checkpoint = weights::read_checkpoint(path);
    saved = checkpoint.model_config;
    tensors = std::move(checkpoint.weights.tensors);
  } else {
    tensors = weights::read_weights(path);
  }
  const bool has_config = saved.is_object() && saved.contains("model");
  if (!has_config && model.empty())
    throw Error("--checkpoint " + path + " carries no model config: name the model with --model", ErrorKind::usage);
  Json overrides = has_config ? saved["config"] : Json::object();
  if (options["num_classes"].get<int64_t>() > 0) overrides["num_classes"] = options["num_classes"];
  models::Classifier classifier = models::build_classifier(has_config ? saved["model"].get<std::string>() : model, overrides);
  weights::load_state_dict(classifier.module(), tensors, /*strict=*/true);
  std::vector<std::string> classes = has_config && saved.contains("classes") ? saved["classes"].get<std::vector<std::string>>()
                                                                            : data::numbered_classes(classifier.num_classes());
  return {classifier, has_config && saved.contains("input") ? saved["input"] : Json(), classes};
}

// Images as the model saw them in training: resized, normalised.
torch::Tensor prepare_images(const std::vector<std::string>& paths, const LoadedClassifier& loaded) {
  data::InputSpec spec;
  if (loaded.input.is_null()) {  // torchvision's ImageNet preprocessing for foreign weights
    spec = {loaded.classifier.image_size(), loaded.classifier.in_channels(), {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
  } else {
    spec = data::input_spec_from_json(loaded.input);
  }
  const data::TransformPtr transform = data::eval_transform(spec, -1);
  SampleRng unused(0);  // evaluation transforms draw nothing
  std::vector<torch::Tensor> images;
  for (const std::string& path : paths) images.push_back((*transform)(load_image(path, spec.channels == 1), unused));
  return torch::stack(images);
}

int run(int argc, char** argv) {
  Cli cli("classify", "Classify images, or turn an input tensor file into logits, with a trained classifier");
  cli.common()
      .required("checkpoint", "run directory, zoo checkpoint, or .pth / TorchScript / safetensors weights")
      .text("model", "model name, for weight files that carry no config", "")
      .integer("num-classes", "number of classes, for weight files that carry no config (0 = the model's)", 0)
      .texts("image", "image files to classify")
      .text("input", "a safetensors file holding one tensor [N, C, H, W] of prepared inputs", "")
      .text("output", "with --input: where to write the logits (safetensors, tensor 'logits')", "")
      .integer("topk", "classes to show per image", 5)
      .text("format", "table or json", "table");
  const Json options = cli.parse(argc, argv);
  const Runtime runtime = setup_runtime(options);
  if (options["format"] != "table" && options["format"] != "json")
    throw Error("--format must be table or json", ErrorKind::usage);
  const bool tensor_mode = !options["input"].get<std::string>().empty();
  if (tensor_mode == !options["image"].empty())
    throw Error("give either --image FILE... or --input FILE --output FILE", ErrorKind::usage);
  if (tensor_mode && options["output"].get<std::string>().empty())
    throw Error("--input needs --output for the logits", ErrorKind::usage);

  LoadedClassifier loaded = load(options);
  loaded.classifier.module().to(runtime.device);
  loaded.classifier.module().eval();
  torch::NoGradGuard no_grad;

  if (tensor_mode) {
    const weights::SafeTensors input = weights::read_safetensors(options["input"]);
    if (input.tensors.size() != 1)
      throw Error(input.source + ": expected exactly one tensor, found " + std::to_string(input.tensors.size()));
    const torch::Tensor x = input.tensors.front().second;
    if (x.dim() != 4 || x.size(1) != loaded.classifier.in_channels())
      throw Error(input.source + ": expected inputs [N, " + std::to_string(loaded.classifier.in_channels()) +
                  ", H, W], got " + c10::str(x.sizes()));
    const torch::Tensor logits = loaded.classifier(x.to(runtime.device, torch::kFloat)).cpu();
    weights::write_safetensors(options["output"], {{"logits", logits}});
    std::printf("wrote logits %s to %s\n", c10::str(logits.sizes()).c_str(), options["output"].get<std::string>().c_str());
    return 0;
  }

  const auto paths = options["image"].get<std::vector<std::string>>();
  const torch::Tensor probabilities = torch::softmax(loaded.classifier(prepare_images(paths, loaded).to(runtime.device)), 1).cpu();
  const int64_t k = std::min<int64_t>(options["topk"].get<int64_t>(), probabilities.size(1));
  if (k < 1) throw Error("--topk must be at least 1", ErrorKind::usage);
  const auto [values, indices] = probabilities.topk(k, 1);
  Json report = Json::array();
  for (size_t i = 0; i < paths.size(); ++i) {
    Json top = Json::array();
    for (int64_t j = 0; j < k; ++j) {
      const int64_t c = indices[static_cast<int64_t>(i)][j].item<int64_t>();
      top.push_back({{"class", c}, {"name", loaded.classes.at(static_cast<size_t>(c))},
                     {"probability", values[static_cast<int64_t>(i)][j].item<double>()}});
    }
    report.push_back({{"image", paths[i]}, {"top", top}});
  }
  if (options["format"] == "json") {
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
