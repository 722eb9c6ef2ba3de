#pragma once
// A trained classifier from --checkpoint: a zoo checkpoint (run directory or file, which
// carries its model config, input preparation and class names), or foreign weights
// (.pth, TorchScript, safetensors) read with --model NAME beside them. classify and
// evaluate_samples share it.
#include <string>
#include <vector>

#include "core/json.h"
#include "data/input_spec.h"
#include "models/registry.h"
#include "weights/pth.h"

namespace zoo::train {

struct LoadedClassifier {
  models::Classifier classifier;
  data::InputSpec input;  // how training prepared images (ImageNet's for foreign weights)
  std::vector<std::string> classes;
};

// model and num_classes are for weight files without a config ("" and 0 otherwise); pth
// says how far a .pth file is trusted.
LoadedClassifier load_classifier(const std::string& checkpoint, const std::string& model = "", int64_t num_classes = 0,
                                 const weights::PthOptions& pth = {});

// Images [C, H, W] in [0, 1] (any sizes) prepared as the classifier saw them in training
// (resized, normalised), as one batch.
torch::Tensor classifier_inputs(const LoadedClassifier& loaded, const std::vector<torch::Tensor>& images);

}  // namespace zoo::train
