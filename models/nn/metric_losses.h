#pragma once
// Losses for metrics that are counts of discrete decisions. Accuracy and F1 count argmax
// predictions, so their gradient is zero almost everywhere; replacing each count by its
// expectation under the softmax makes them smooth (the "soft" confusion matrix):
//
//   soft accuracy   (1/N) Σ_i p_i[y_i]                       the expected accuracy
//   soft macro F1   (1/C) Σ_c 2·TP_c / (2·TP_c + FP_c + FN_c),
//                   TP_c = Σ_i p_ic·[y_i = c], FP_c = Σ_i p_ic·[y_i ≠ c], FN_c = Σ_i (1 − p_ic)·[y_i = c]
//
// On one-hot predictions both equal the hard metric exactly. As losses they are 1 − metric;
// "ce+soft_f1" adds 1 − soft F1 to the cross-entropy (the soft metric alone starts with
// tiny gradients when the softmax is flat, cross-entropy gives them a push).
#include <torch/torch.h>

#include <string>
#include <vector>

namespace zoo::models {

// probabilities [N, C] (rows sum to 1), targets [N] int64 class indices.
torch::Tensor soft_accuracy(const torch::Tensor& probabilities, const torch::Tensor& targets);
torch::Tensor soft_macro_f1(const torch::Tensor& probabilities, const torch::Tensor& targets);

// The hard metrics on predicted classes [N] (argmax), for evaluation. A class that is
// neither predicted nor present scores F1 = 0 (scikit-learn's zero_division default).
double accuracy(const torch::Tensor& predictions, const torch::Tensor& targets);
double macro_f1(const torch::Tensor& predictions, const torch::Tensor& targets, int64_t classes);
// What macro-F1 is made of, per class, float64 [3, classes]: true positives, predicted,
// present. Counts add up over shards, so a data-parallel evaluation sums them over the
// ranks and scores the whole split with macro_f1_from_counts.
torch::Tensor class_counts(const torch::Tensor& predictions, const torch::Tensor& targets, int64_t classes);
double macro_f1_from_counts(const torch::Tensor& counts);

struct ClassificationLossOptions {
  std::string name = "ce";     // ce, soft_accuracy, soft_f1 or ce+soft_f1
  double label_smoothing = 0;  // of the cross-entropy term
  double f1_weight = 1;        // of the soft F1 term in ce+soft_f1
};

const std::vector<std::string>& classification_loss_names();
// zoo::Error(usage) naming the known losses for any other name.
void check_classification_loss(const std::string& name);
// The mean loss of a batch of logits [N, C] against targets [N].
torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                                  const ClassificationLossOptions& options);

}  // namespace zoo::models
