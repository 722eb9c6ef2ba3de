// Gradients through sampling: both estimators are unbiased where the gradient is known and
// the reparameterised one is far less noisy; Gumbel-max samples the softmax exactly; the
// Gumbel-softmax relaxation and its straight-through variant behave as the papers say.
#include <gtest/gtest.h>

#include <cmath>

#include "models/nn/reparam.h"
#include "support/test_support.h"

using namespace zoo::models;

TEST(Reparam, GaussianSamplesAndKlMatchTheirDefinitions) {
  torch::manual_seed(0);
  const torch::Tensor mean = torch::tensor({{0.5, -1.0, 2.0}}, torch::kFloat64);
  const torch::Tensor log_var = torch::tensor({{0.0, std::log(4.0), std::log(0.25)}}, torch::kFloat64);
  const torch::Tensor z = gaussian_reparameterize(mean.expand({200000, 3}), log_var.expand({200000, 3}));
  EXPECT_TRUE(torch::allclose(z.mean(0), mean[0], 0, 0.02)) << z.mean(0);
  EXPECT_TRUE(torch::allclose(z.std(0), torch::tensor({1.0, 2.0, 0.5}, torch::kFloat64), 0, 0.02)) << z.std(0);
  // KL against a Monte-Carlo estimate of E_q[log q(z) − log p(z)].
  const torch::Tensor var = log_var.exp();
  const torch::Tensor log_q = (-0.5 * (z - mean).pow(2) / var - 0.5 * log_var).sum(1);
  const torch::Tensor log_p = (-0.5 * z.pow(2)).sum(1);
  EXPECT_NEAR(gaussian_kl(mean, log_var).item<double>(), (log_q - log_p).mean().item<double>(), 0.02);
}

// d/dμ E_{z~N(μ,1)}[z²] = 2μ: both estimators find it; the score function's variance is larger.
TEST(Reparam, BothEstimatorsAreUnbiasedAndReparameterisationHasLowerVariance) {
  torch::manual_seed(1);
  const double mu0 = 1.5;
  const int n = 20000;
  torch::Tensor mu = torch::full({n}, mu0, torch::kFloat64).requires_grad_();
  const torch::Tensor z = gaussian_reparameterize(mu, torch::zeros({n}, torch::kFloat64));
  z.pow(2).sum().backward();
  const torch::Tensor reparam = mu.grad().clone();

  torch::Tensor mu2 = torch::full({n}, mu0, torch::kFloat64).requires_grad_();
  const torch::Tensor sample = (mu0 + torch::randn({n}, torch::kFloat64));  // no path to μ
  const torch::Tensor log_prob = -0.5 * (sample - mu2).pow(2);
  score_function_surrogate(log_prob, sample.pow(2)).sum().backward();
  const torch::Tensor score = mu2.grad();

  EXPECT_NEAR(reparam.mean().item<double>(), 2 * mu0, 0.05);
  EXPECT_NEAR(score.mean().item<double>(), 2 * mu0, 0.2);
  EXPECT_GT(score.var().item<double>(), 3 * reparam.var().item<double>());
}

TEST(Reparam, GumbelMaxSamplesTheSoftmaxExactly) {
  torch::manual_seed(2);
  const torch::Tensor logits = torch::tensor({1.0, 0.0, -1.0, 2.0, 0.5});
  const int n = 50000;
  const torch::Tensor counts = torch::bincount(gumbel_max(logits.expand({n, 5})), {}, 5).to(torch::kFloat64);
  const torch::Tensor expected = torch::softmax(logits.to(torch::kFloat64), 0) * n;
  const double chi_square = ((counts - expected).pow(2) / expected).sum().item<double>();
  EXPECT_LT(chi_square, 18.47) << counts << expected;  // χ² with 4 degrees of freedom, p = 0.001
}

TEST(Reparam, GumbelSoftmaxRelaxesAndTheHardVariantIsExactlyOneHot) {
  torch::manual_seed(3);
  const torch::Tensor logits = torch::randn({64, 6}).requires_grad_();
  const torch::Tensor soft = gumbel_softmax(logits, 1.0);
  EXPECT_TRUE(torch::allclose(soft.sum(-1), torch::ones({64})));
  EXPECT_GT((std::get<0>(soft.max(-1)) < 0.99).sum().item<int64_t>(), 32);  // relaxed at τ = 1

  const torch::Tensor hard = gumbel_softmax(logits, 0.5, /*hard=*/true);
  EXPECT_TRUE(torch::equal(hard.sum(-1), torch::ones({64})));
  EXPECT_TRUE(torch::equal(hard, (hard == 1).to(torch::kFloat)));  // only 0s and 1s
  (hard * torch::arange(6).to(torch::kFloat)).sum().backward();
  EXPECT_GT(logits.grad().abs().sum().item<double>(), 0);  // the relaxation's gradient
  EXPECT_TRUE(torch::isfinite(logits.grad()).all().item<bool>());

  // Low temperature: nearly one-hot (on average: a near tie of two perturbed logits can
  // still split a row).
  torch::NoGradGuard no_grad;
  const torch::Tensor cold = gumbel_softmax(logits.detach(), 0.01);
  EXPECT_GT(std::get<0>(cold.max(-1)).mean().item<double>(), 0.98);
  EXPECT_GT(std::get<0>(cold.max(-1)).mean().item<double>(), std::get<0>(soft.max(-1)).mean().item<double>());
  EXPECT_TRUE(zoo::test::throws_error_with([&] { gumbel_softmax(logits, 0.0); }, {"temperature"}));
}

TEST(Reparam, TemperatureAnnealsExponentiallyToItsFloor) {
  const TemperatureSchedule schedule{1.0, 0.5, 1e-3};
  EXPECT_DOUBLE_EQ(schedule.at(0), 1.0);
  EXPECT_NEAR(schedule.at(200), std::exp(-0.2), 1e-12);
  EXPECT_DOUBLE_EQ(schedule.at(100000), 0.5);
}
