#include <gtest/gtest.h>

#include "core/seed.h"

TEST(Seed, PerSampleNoiseDoesNotDependOnHowTheBatchIsCut) {
  const torch::Tensor whole = zoo::per_sample_randn({6, 3, 2}, 42, zoo::Stream::noise, 10);
  const torch::Tensor first = zoo::per_sample_randn({2, 3, 2}, 42, zoo::Stream::noise, 10);
  const torch::Tensor rest = zoo::per_sample_randn({4, 3, 2}, 42, zoo::Stream::noise, 12);
  EXPECT_TRUE(torch::equal(whole, torch::cat({first, rest})));
  // Another seed, stream or index gives other noise.
  EXPECT_FALSE(torch::equal(whole, zoo::per_sample_randn({6, 3, 2}, 43, zoo::Stream::noise, 10)));
  EXPECT_FALSE(torch::equal(whole, zoo::per_sample_randn({6, 3, 2}, 42, zoo::Stream::augment, 10)));
  EXPECT_FALSE(torch::equal(whole[0], whole[1]));
}

TEST(Seed, SampleRngIsDeterministicAndUniform) {
  zoo::SampleRng a(7, zoo::Stream::augment, 3), b(7, zoo::Stream::augment, 3);
  double sum = 0;
  int counts[4] = {0, 0, 0, 0};
  for (int i = 0; i < 20000; ++i) {
    const double u = a.uniform();
    ASSERT_EQ(u, b.uniform());
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    ++counts[a.randint(4)];
    b.randint(4);
  }
  EXPECT_NEAR(sum / 20000, 0.5, 0.01);
  for (int c : counts) EXPECT_NEAR(c / 20000.0, 0.25, 0.02);
  const torch::Tensor n = a.randn({100000});
  EXPECT_NEAR(n.mean().item<double>(), 0.0, 0.02);
  EXPECT_NEAR(n.std().item<double>(), 1.0, 0.02);
}

TEST(Seed, GlobalStateRoundTrips) {
  zoo::seed_everything(5);
  const torch::Tensor state = zoo::cpu_rng_state();
  const torch::Tensor first = torch::rand({4});
  zoo::set_cpu_rng_state(state);
  EXPECT_TRUE(torch::equal(first, torch::rand({4})));
  zoo::seed_everything(5);
  EXPECT_TRUE(torch::equal(first, torch::rand({4})));
}

TEST(Seed, DerivedSeedsDiffer) {
  EXPECT_NE(zoo::derive_seed(0, 1, 0), zoo::derive_seed(0, 1, 1));
  EXPECT_NE(zoo::derive_seed(0, 1, 0), zoo::derive_seed(0, 2, 0));
  EXPECT_NE(zoo::derive_seed(0, 1, 0), zoo::derive_seed(1, 1, 0));
  EXPECT_EQ(zoo::derive_seed(3, 4, 5), zoo::derive_seed(3, 4, 5));
}

TEST(Seed, IndexedDrawsDependOnTheExampleOnlyAndHaveTheRightLaw) {
  const torch::Tensor batch = torch::tensor({5, 9, 2}, torch::kLong), reordered = torch::tensor({2, 5}, torch::kLong);
  const torch::Tensor a = zoo::indexed_randn({3, 4}, 11, zoo::Stream::noise, batch);
  const torch::Tensor b = zoo::indexed_randn({3, 4}, 11, zoo::Stream::noise, reordered);
  EXPECT_TRUE(torch::equal(a[2], b[0]));  // example 2, whatever its batch and position
  EXPECT_TRUE(torch::equal(a[0], b[1]));
  EXPECT_FALSE(torch::equal(a[0], a[1]));
  EXPECT_FALSE(torch::equal(a, zoo::indexed_randn({3, 4}, 12, zoo::Stream::noise, batch)));
  // 200,000 draws: the moments of N(0, 1) and U[0, 1) within a few standard errors.
  const torch::Tensor many = torch::arange(2000, torch::kLong);
  const torch::Tensor normal = zoo::indexed_randn({100}, 3, zoo::Stream::noise, many).to(torch::kDouble);
  EXPECT_NEAR(normal.mean().item<double>(), 0, 0.01);
  EXPECT_NEAR(normal.var().item<double>(), 1, 0.015);
  EXPECT_NEAR((normal.abs() > 1.96).to(torch::kDouble).mean().item<double>(), 0.05, 0.003);
  const torch::Tensor uniform = zoo::indexed_rand({100}, 3, zoo::Stream::level, many).to(torch::kDouble);
  EXPECT_GE(uniform.min().item<double>(), 0);
  EXPECT_LE(uniform.max().item<double>(), 1);
  EXPECT_NEAR(uniform.mean().item<double>(), 0.5, 0.003);
  EXPECT_NEAR(uniform.var().item<double>(), 1.0 / 12, 0.002);
  // Neighbouring coordinates are uncorrelated.
  const torch::Tensor x = normal.narrow(1, 0, 99).reshape({-1}), y = normal.narrow(1, 1, 99).reshape({-1});
  EXPECT_NEAR((x * y).mean().item<double>(), 0, 0.01);
}
