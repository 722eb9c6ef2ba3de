#include "train/evaluate.h"

#include "models/nn/eval_mode.h"
#include "models/nn/metric_losses.h"

namespace zoo::train {

ClassifierScores evaluate_classifier(const models::Classifier& classifier, const data::DataLoader& loader,
                                     const torch::Device& device, Distributed& group) {
  torch::NoGradGuard no_grad;
  const models::EvalMode eval(classifier.module());
  const int64_t classes = classifier.num_classes();
  // Sums over this rank's examples: loss, top-1 hits, top-5 hits, examples.
  torch::Tensor totals = torch::zeros({4}, torch::kDouble);
  torch::Tensor counts = torch::zeros({3, classes}, torch::kDouble);
  auto reader = loader.epoch(0);
  while (auto batch = reader->next()) {
    const torch::Tensor labels = batch->labels.to(device);
    const torch::Tensor logits = classifier(batch->inputs.to(device));
    const torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    const torch::Tensor best = std::get<1>(logits.topk(std::min<int64_t>(5, classes), 1));
    const torch::Tensor hits = best.eq(labels.unsqueeze(1));
    // Every entry on the model's device: stack (cat) refuses a mix of devices.
    const auto on_device = loss.options().dtype(torch::kDouble);
    totals += torch::stack({loss.to(torch::kDouble), hits.select(1, 0).sum().to(torch::kDouble),
                            hits.any(1).sum().to(torch::kDouble),
                            torch::scalar_tensor(static_cast<double>(labels.size(0)), on_device)})
                  .cpu();
    counts += models::class_counts(best.select(1, 0), labels, classes);
  }
  totals = group.sum(totals), counts = group.sum(counts);
  ClassifierScores scores;
  scores.examples = static_cast<int64_t>(totals[3].item<double>());
  const double n = static_cast<double>(std::max<int64_t>(1, scores.examples));
  scores.loss = totals[0].item<double>() / n, scores.top1 = totals[1].item<double>() / n,
  scores.top5 = totals[2].item<double>() / n;
  scores.macro_f1 = models::macro_f1_from_counts(counts);
  return scores;
}

data::DatasetPtr evaluation_share(const data::DatasetPtr& split, const Distributed& group) {
  if (!group.active()) return split;
  const auto [begin, end] = group.share(split->size());
  return std::make_shared<data::Subset>(split, end - begin, begin);
}

}  // namespace zoo::train
