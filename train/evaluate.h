#pragma once
// Classifier evaluation over a whole split: mean cross-entropy, top-1 and top-5 accuracy,
// macro-averaged F1. In a data-parallel run each rank reads its share of the split (its
// loader over data::Subset of Distributed::share) and the sums are added over the ranks,
// so every rank gets the whole split's scores.
#include <torch/torch.h>

#include "core/distributed.h"
#include "data/loader.h"
#include "models/registry.h"

namespace zoo::train {

struct ClassifierScores {
  double loss = 0, top1 = 0, top5 = 0, macro_f1 = 0;
  int64_t examples = 0;
};

ClassifierScores evaluate_classifier(const models::Classifier& classifier, const data::DataLoader& loader,
                                     const torch::Device& device, Distributed& group);

// This rank's share of a split (the whole split alone), for the evaluation loader.
data::DatasetPtr evaluation_share(const data::DatasetPtr& split, const Distributed& group);

}  // namespace zoo::train
