#include "train/load_classifier.h"

#include <filesystem>

#include "core/error.h"
#include "core/seed.h"
#include "weights/checkpoint.h"
#include "weights/state_dict.h"
#include "weights/weight_file.h"

namespace zoo::train {

LoadedClassifier load_classifier(const std::string& path, const std::string& model, int64_t num_classes,
                                 const weights::PthOptions& pth) {
  weights::NamedTensors tensors;
  Json saved;
  if (std::filesystem::is_directory(path) ||
      weights::detect_weight_format(path) == weights::WeightFormat::safetensors) {
    weights::ModelCheckpoint checkpoint = weights::read_checkpoint(path);
    saved = checkpoint.model_config;
    tensors = std::move(checkpoint.weights.tensors);
  } else {
    tensors = weights::read_weights(path, pth);
  }
  const bool has_config = saved.is_object() && saved.contains("model");
  if (!has_config && model.empty())
    throw Error("--checkpoint " + path + " carries no model config: name the model with --model", ErrorKind::usage);
  Json overrides = has_config ? saved.value("config", Json::object()) : Json::object();
  if (num_classes > 0) overrides["num_classes"] = num_classes;
  const std::string name = has_config ? saved["model"].get<std::string>() : model;
  if (!models::find_model(name).is_classifier())
    throw Error("--checkpoint " + path + " holds a '" + name + "' model, not a classifier", ErrorKind::input);
  models::Classifier classifier = models::build_classifier(name, overrides);
  weights::load_state_dict(classifier.module(), tensors, /*strict=*/true);
  data::InputSpec input;
  if (has_config && saved.contains("input")) {
    input = data::input_spec_from_json(saved["input"]);
  } else {  // torchvision's ImageNet preprocessing for foreign weights
    input = {classifier.image_size(), classifier.in_channels(), {0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
  }
  std::vector<std::string> classes = has_config && saved.contains("classes")
                                         ? saved["classes"].get<std::vector<std::string>>()
                                         : data::numbered_classes(classifier.num_classes());
  return {classifier, input, classes};
}

torch::Tensor classifier_inputs(const LoadedClassifier& loaded, const std::vector<torch::Tensor>& images) {
  const data::TransformPtr transform = data::eval_transform(loaded.input, -1);
  SampleRng unused(0);  // evaluation transforms draw nothing
  std::vector<torch::Tensor> prepared;
  for (const torch::Tensor& image : images) prepared.push_back((*transform)(image, unused));
  return torch::stack(prepared);
}

}  // namespace zoo::train
