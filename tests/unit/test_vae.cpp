// The VAE's ELBO: with one categorical variable log p(x) is an exact three-term sum, so the
// expected ELBO (an exact sum over q as well) must equal its formula and stay below log p(x);
// sampled ELBOs average to it; a short training raises it for both latents.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "models/vae/vae.h"
#include "support/test_support.h"

using namespace zoo::models;

namespace {

VaeOptions tiny(const std::string& latent) {
  VaeOptions o;
  o.shape = {1, 4, 4};
  o.latent = latent;
  o.latent_dim = 2;
  o.variables = 1;
  o.categories = 3;
  o.hidden = 16;
  o.layers = 1;
  return o;
}

}  // namespace

TEST(Vae, CategoricalElboIsExactAndBelowTheLogLikelihood) {
  torch::manual_seed(11);
  Vae vae(tiny("categorical"));
  vae->to(torch::kDouble);
  const torch::Tensor x = torch::bernoulli(torch::full({1, 1, 4, 4}, 0.5, torch::kDouble));
  torch::NoGradGuard no_grad;
  // Many exact samples of the one-hot latent: their ELBOs average the expectation over q.
  const torch::Tensor xs = x.expand({20000, 1, 4, 4}).contiguous();
  const ElboTerms terms = vae->elbo(xs, 1.0, /*relaxed=*/false);
  // KL is exact and identical across samples; reconstruction takes three values, one per
  // category: log p(x | e_k).
  const double kl = terms.kl[0].item<double>();
  EXPECT_TRUE(torch::allclose(terms.kl, torch::full_like(terms.kl, kl)));
  const torch::Tensor distinct = std::get<0>(torch::_unique(terms.reconstruction));
  ASSERT_EQ(distinct.numel(), 3);
  // q from the frequencies, and the exact formulas with it.
  std::vector<double> q, log_px_z;
  for (int64_t k = 0; k < 3; ++k) {
    const double value = distinct[k].item<double>();
    q.push_back(terms.reconstruction.eq(value).to(torch::kDouble).mean().item<double>());
    log_px_z.push_back(value);
  }
  double expected_kl = 0, expected_elbo = 0, px = 0;
  for (int64_t k = 0; k < 3; ++k) {
    expected_kl += q[k] * std::log(q[k] * 3);
    px += std::exp(log_px_z[k]) / 3;
  }
  for (int64_t k = 0; k < 3; ++k) expected_elbo += q[k] * log_px_z[k];
  expected_elbo -= kl;
  EXPECT_NEAR(kl, expected_kl, 0.01);  // the frequencies estimate q to about ±0.004
  EXPECT_NEAR(terms.elbo().mean().item<double>(), expected_elbo, 1e-9);
  EXPECT_LE(expected_elbo, std::log(px) + 1e-9);
}

TEST(Vae, UniformPosteriorHasNoKl) {
  Vae vae(tiny("categorical"));
  torch::NoGradGuard no_grad;
  for (auto& p : vae->named_parameters())
    if (p.key().rfind("encoder.", 0) == 0) p.value().zero_();  // logits 0: q uniform
  const ElboTerms terms = vae->elbo(torch::zeros({2, 1, 4, 4}), 0.5);
  EXPECT_NEAR(terms.kl.abs().max().item<double>(), 0, 1e-6);
}

TEST(Vae, ShortTrainingRaisesTheElboForBothLatents) {
  for (const std::string latent : {"gaussian", "categorical"}) {
    torch::manual_seed(12);
    Vae vae(tiny(latent));
    // Two binary prototypes: a latent that tells them apart explains the data.
    const torch::Tensor prototypes = torch::bernoulli(torch::full({2, 1, 4, 4}, 0.5));
    const torch::Tensor data = prototypes.repeat({32, 1, 1, 1});
    auto elbo = [&] {
      torch::NoGradGuard no_grad;
      return vae->elbo(data, 1.0, false).elbo().mean().item<double>();
    };
    const double before = elbo();
    torch::optim::Adam optimizer(vae->parameters(), torch::optim::AdamOptions(1e-2));
    for (int step = 0; step < 200; ++step) {
      optimizer.zero_grad();
      (-vae->elbo(data, 0.7).elbo().mean()).backward();
      optimizer.step();
    }
    EXPECT_GT(elbo(), before + 3) << latent;
    EXPECT_EQ(vae->sample(5).sizes(), (std::vector<int64_t>{5, 1, 4, 4})) << latent;
    EXPECT_EQ(vae->reconstruct(data).sizes(), data.sizes()) << latent;
  }
}

TEST(Vae, BadConfigAndInputsAreErrors) {
  VaeOptions o = tiny("discrete");
  EXPECT_TRUE(zoo::test::throws_error_with([&] { Vae v(o); }, {"discrete", "gaussian or categorical"}));
  o = tiny("gaussian");
  o.activation = "wiggle";
  EXPECT_TRUE(zoo::test::throws_error_with([&] { Vae v(o); }, {"wiggle"}));
  Vae vae(tiny("gaussian"));
  EXPECT_TRUE(zoo::test::throws_error_with([&] { vae->elbo(torch::zeros({2, 1, 5, 5})); }, {"[2, 1, 5, 5]"}));
}
