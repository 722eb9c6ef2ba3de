#pragma once
// Classifier evaluation over a whole split: mean cross-entropy, top-1 and top-5 accuracy,
// macro-averaged F1.
#include <torch/torch.h>

#include "data/loader.h"
#include "models/registry.h"

namespace zoo::train {

struct ClassifierScores {
  double loss = 0, top1 = 0, top5 = 0, macro_f1 = 0;
  int64_t examples = 0;
};

ClassifierScores evaluate_classifier(const models::Classifier& classifier, const data::DataLoader& loader,
                                     const torch::Device& device);

}  // namespace zoo::train
