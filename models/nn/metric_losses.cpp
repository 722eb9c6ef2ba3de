#include "models/nn/metric_losses.h"

#include "core/error.h"

namespace zoo::models {
namespace {

void check_shapes(const torch::Tensor& scores, const torch::Tensor& targets) {
  if (scores.dim() != 2 || targets.dim() != 1 || targets.size(0) != scores.size(0))
    throw Error("classification metric: expected scores [N, C] and targets [N], got " + c10::str(scores.sizes()) +
                    " and " + c10::str(targets.sizes()),
                ErrorKind::input);
}

// Per class from its (soft or hard) true positives, predictions and occurrences:
// 2·TP / (2·TP + FP + FN), 0 where the denominator is 0 (nothing predicted, none present).
torch::Tensor f1_per_class(const torch::Tensor& tp, const torch::Tensor& predicted, const torch::Tensor& actual) {
  const torch::Tensor denominator = predicted + actual;  // 2·TP + FP + FN
  return torch::where(denominator > 0, 2 * tp / denominator.clamp_min(1e-12), torch::zeros_like(tp));
}

}  // namespace

torch::Tensor soft_accuracy(const torch::Tensor& probabilities, const torch::Tensor& targets) {
  check_shapes(probabilities, targets);
  return probabilities.gather(1, targets.unsqueeze(1)).mean();
}

torch::Tensor soft_macro_f1(const torch::Tensor& probabilities, const torch::Tensor& targets) {
  check_shapes(probabilities, targets);
  const torch::Tensor actual = torch::one_hot(targets, probabilities.size(1)).to(probabilities.scalar_type());
  return f1_per_class((probabilities * actual).sum(0), probabilities.sum(0), actual.sum(0)).mean();
}

double accuracy(const torch::Tensor& predictions, const torch::Tensor& targets) {
  if (predictions.numel() == 0) return 0;
  return predictions.eq(targets).to(torch::kDouble).mean().item<double>();
}

double macro_f1(const torch::Tensor& predictions, const torch::Tensor& targets, int64_t classes) {
  return macro_f1_from_counts(class_counts(predictions, targets, classes));
}

torch::Tensor class_counts(const torch::Tensor& predictions, const torch::Tensor& targets, int64_t classes) {
  const auto one_hot = [&](const torch::Tensor& t) {
    return torch::one_hot(t.to(torch::kLong).cpu(), classes).to(torch::kDouble).reshape({-1, classes});
  };
  const torch::Tensor predicted = one_hot(predictions), actual = one_hot(targets);
  return torch::stack({(predicted * actual).sum(0), predicted.sum(0), actual.sum(0)});
}

double macro_f1_from_counts(const torch::Tensor& counts) {
  return f1_per_class(counts[0], counts[1], counts[2]).mean().item<double>();
}

const std::vector<std::string>& classification_loss_names() {
  static const std::vector<std::string> names = {"ce", "soft_accuracy", "soft_f1", "ce+soft_f1"};
  return names;
}

void check_classification_loss(const std::string& name) {
  for (const std::string& known : classification_loss_names())
    if (name == known) return;
  throw Error("--loss " + name + ": expected ce, soft_accuracy, soft_f1 or ce+soft_f1", ErrorKind::usage);
}

torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                                  const ClassificationLossOptions& options) {
  check_classification_loss(options.name);
  check_shapes(logits, targets);
  const auto cross_entropy = [&] {
    return torch::nn::functional::cross_entropy(
        logits, targets, torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(options.label_smoothing));
  };
  if (options.name == "ce") return cross_entropy();
  // The soft metrics in float32 even under autocast: sums of N probabilities.
  const torch::Tensor wide = logits.element_size() >= 4 ? logits : logits.to(torch::kFloat);
  const torch::Tensor probabilities = torch::softmax(wide, 1);
  if (options.name == "soft_accuracy") return 1 - soft_accuracy(probabilities, targets);
  if (options.name == "soft_f1") return 1 - soft_macro_f1(probabilities, targets);
  return cross_entropy() + options.f1_weight * (1 - soft_macro_f1(probabilities, targets));
}

}  // namespace zoo::models
