// Smooth surrogates of accuracy and macro-F1: on one-hot predictions they equal the hard
// metrics, counted here from scratch; their gradients are finite and point the right way.
#include <gtest/gtest.h>

#include "core/error.h"
#include "models/nn/metric_losses.h"
#include "support/test_support.h"

using namespace zoo::models;

namespace {

// Macro-F1 counted one example at a time.
double counted_macro_f1(const std::vector<int64_t>& predicted, const std::vector<int64_t>& actual, int64_t classes) {
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c) {
    double tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < actual.size(); ++i) {
      tp += predicted[i] == c && actual[i] == c;
      fp += predicted[i] == c && actual[i] != c;
      fn += predicted[i] != c && actual[i] == c;
    }
    sum += tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 0;
  }
  return sum / static_cast<double>(classes);
}

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().to(torch::kLong);
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

}  // namespace

TEST(MetricLosses, SurrogatesEqualTheHardMetricsOnOneHotPredictions) {
  torch::manual_seed(3);
  const int64_t classes = 5;
  for (int trial = 0; trial < 5; ++trial) {
    const torch::Tensor targets = torch::randint(classes, {200}, torch::kLong);
    // Right about 60% of the time.
    const torch::Tensor predicted =
        torch::where(torch::rand({200}) < 0.6, targets, torch::randint(classes, {200}, torch::kLong));
    const torch::Tensor one_hot = torch::one_hot(predicted, classes).to(torch::kDouble);
    const double accuracy_counted = predicted.eq(targets).sum().item<double>() / 200.0;
    const double f1_counted = counted_macro_f1(to_vector(predicted), to_vector(targets), classes);
    EXPECT_NEAR(soft_accuracy(one_hot, targets).item<double>(), accuracy_counted, 1e-12);
    EXPECT_NEAR(accuracy(predicted, targets), accuracy_counted, 1e-12);
    EXPECT_NEAR(soft_macro_f1(one_hot, targets).item<double>(), f1_counted, 1e-12);
    EXPECT_NEAR(macro_f1(predicted, targets, classes), f1_counted, 1e-12);
  }
}

TEST(MetricLosses, MacroF1OfASmallCaseByHand) {
  // Class 0: TP 1, FN 1 → 2/3; class 1: TP 1, FP 1 → 2/3; class 2: perfect → 1.
  const torch::Tensor targets = torch::tensor({0, 0, 1, 2}, torch::kLong);
  const torch::Tensor predicted = torch::tensor({0, 1, 1, 2}, torch::kLong);
  EXPECT_NEAR(macro_f1(predicted, targets, 3), 7.0 / 9.0, 1e-12);
  // A fourth class nobody predicts and nobody has scores 0 and pulls the mean down.
  EXPECT_NEAR(macro_f1(predicted, targets, 4), 7.0 / 12.0, 1e-12);
}

TEST(MetricLosses, EveryLossHasFiniteGradientsThatRaiseTheTrueClass) {
  torch::manual_seed(4);
  const torch::Tensor targets = torch::randint(4, {64}, torch::kLong);
  for (const std::string& name : classification_loss_names()) {
    const torch::Tensor logits = torch::randn({64, 4}, torch::kDouble).requires_grad_();
    ClassificationLossOptions options;
    options.name = name;
    const torch::Tensor loss = classification_loss(logits, targets, options);
    loss.backward();
    const torch::Tensor grad = logits.grad();
    EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << name;
    EXPECT_GT(grad.abs().sum().item<double>(), 0) << name;
    // A small step against the gradient lowers the loss.
    torch::NoGradGuard no_grad;
    const torch::Tensor stepped = logits - 0.1 * grad / grad.norm();
    EXPECT_LT(classification_loss(stepped, targets, options).item<double>(), loss.item<double>()) << name;
  }
}

TEST(MetricLosses, CrossEntropyPlusSoftF1IsTheirSum) {
  torch::manual_seed(5);
  const torch::Tensor logits = torch::randn({32, 3}, torch::kDouble);
  const torch::Tensor targets = torch::randint(3, {32}, torch::kLong);
  ClassificationLossOptions options;
  options.name = "ce+soft_f1";
  options.f1_weight = 0.5;
  const double expected = torch::nn::functional::cross_entropy(logits, targets).item<double>() +
                          0.5 * (1 - soft_macro_f1(torch::softmax(logits, 1), targets).item<double>());
  EXPECT_NEAR(classification_loss(logits, targets, options).item<double>(), expected, 1e-12);
}

TEST(MetricLosses, UnknownLossAndBadShapesAreErrors) {
  EXPECT_TRUE(zoo::test::throws_error_with([] { check_classification_loss("hinge"); }, {"hinge", "soft_f1"}));
  ClassificationLossOptions options;
  options.name = "soft_f1";
  EXPECT_TRUE(zoo::test::throws_error_with(
      [&] {
        classification_loss(torch::zeros({4, 3}), torch::zeros({5}, torch::kLong), options);
      },
      {"[4, 3]"}));
}
