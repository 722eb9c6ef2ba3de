#include "train/evaluate.h"

#include "models/nn/eval_mode.h"
#include "models/nn/metric_losses.h"

namespace zoo::train {

ClassifierScores evaluate_classifier(const models::Classifier& classifier, const data::DataLoader& loader,
                                     const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const models::EvalMode eval(classifier.module());
  ClassifierScores scores;
  double loss_sum = 0, top1 = 0, top5 = 0;
  std::vector<torch::Tensor> predictions, targets;
  int64_t classes = 0;
  auto reader = loader.epoch(0);
  while (auto batch = reader->next()) {
    const torch::Tensor labels = batch->labels.to(device);
    const torch::Tensor logits = classifier(batch->inputs.to(device));
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    const int64_t k = std::min<int64_t>(5, logits.size(1));
    const torch::Tensor best = std::get<1>(logits.topk(k, 1));
    const torch::Tensor hits = best.eq(labels.unsqueeze(1));
    top1 += hits.select(1, 0).sum().item<double>();
    top5 += hits.any(1).sum().item<double>();
    predictions.push_back(best.select(1, 0).cpu());
    targets.push_back(labels.cpu());
    classes = logits.size(1);
    scores.examples += labels.size(0);
  }
  const double n = static_cast<double>(std::max<int64_t>(1, scores.examples));
  scores.loss = loss_sum / n, scores.top1 = top1 / n, scores.top5 = top5 / n;
  if (!predictions.empty()) scores.macro_f1 = models::macro_f1(torch::cat(predictions), torch::cat(targets), classes);
  return scores;
}

}  // namespace zoo::train
