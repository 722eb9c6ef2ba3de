#include <gtest/gtest.h>

#include "core/error.h"
#include "data/transforms.h"

using namespace zoo::data;

namespace {
zoo::SampleRng rng_for(uint64_t index) { return zoo::SampleRng(1, zoo::Stream::augment, index); }
}  // namespace

TEST(Transforms, NormalizePerChannel) {
  zoo::SampleRng rng = rng_for(0);
  const torch::Tensor x = torch::stack({torch::full({2, 2}, 0.5), torch::full({2, 2}, 1.0)});
  const torch::Tensor y = Normalize({0.5, 0.0}, {0.25, 2.0})(x, rng);
  EXPECT_TRUE(torch::allclose(y[0], torch::zeros({2, 2})));
  EXPECT_TRUE(torch::allclose(y[1], torch::full({2, 2}, 0.5)));
  EXPECT_THROW(Normalize({0.5, 0.5, 0.5}, {1, 1, 1})(x, rng), zoo::Error);
  EXPECT_THROW(Normalize({0.5}, {0.0}), zoo::Error);
}

TEST(Transforms, PadCropIsAShiftOfTheImage) {
  const torch::Tensor x = torch::arange(1, 26, torch::kFloat).view({1, 5, 5});
  int non_identity = 0;
  for (uint64_t i = 0; i < 50; ++i) {
    zoo::SampleRng rng = rng_for(i);
    const torch::Tensor y = PadCrop(2)(x, rng);
    ASSERT_EQ(y.sizes(), x.sizes());
    // Find the shift: the value 13 (centre) moved by (dy, dx) with |d| <= 2; every nonzero
    // pixel of y must be x shifted by the same amount.
    const auto where = torch::nonzero(y == 13);
    ASSERT_EQ(where.size(0), 1);
    const int64_t dy = where[0][1].item<int64_t>() - 2, dx = where[0][2].item<int64_t>() - 2;
    ASSERT_LE(std::abs(dy), 2);
    ASSERT_LE(std::abs(dx), 2);
    const torch::Tensor shifted =
        torch::constant_pad_nd(x, {2, 2, 2, 2}, 0).slice(1, 2 - dy, 7 - dy).slice(2, 2 - dx, 7 - dx);
    ASSERT_TRUE(torch::equal(y, shifted));
    non_identity += (dy != 0 || dx != 0);
  }
  EXPECT_GT(non_identity, 30);
}

TEST(Transforms, FlipMirrorsAboutHalfTheTime) {
  const torch::Tensor x = torch::arange(6, torch::kFloat).view({1, 2, 3});
  int flipped = 0;
  for (uint64_t i = 0; i < 400; ++i) {
    zoo::SampleRng rng = rng_for(i);
    const torch::Tensor y = HorizontalFlip()(x, rng);
    if (torch::equal(y, x.flip({2})))
      ++flipped;
    else
      ASSERT_TRUE(torch::equal(y, x));
  }
  EXPECT_NEAR(flipped / 400.0, 0.5, 0.08);
}

TEST(Transforms, ResizeKeepsConstantsAndChangesSize) {
  zoo::SampleRng rng = rng_for(0);
  const torch::Tensor x = torch::full({3, 28, 28}, 0.25);
  const torch::Tensor up = Resize(32)(x, rng), down = Resize(14)(x, rng);
  EXPECT_EQ(up.sizes(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_EQ(down.sizes(), (std::vector<int64_t>{3, 14, 14}));
  EXPECT_TRUE(torch::allclose(up, torch::full_like(up, 0.25)));
  // Halving averages 2x2 blocks of a checkerboard into grey.
  const torch::Tensor checker =
      (torch::arange(28).view({1, 28}) + torch::arange(28).view({28, 1})).remainder(2).to(torch::kFloat).unsqueeze(0);
  EXPECT_NEAR(Resize(14)(checker, rng).mean().item<double>(), 0.5, 1e-4);
  EXPECT_LT(Resize(14)(checker, rng).std().item<double>(), 0.05);
}

TEST(Transforms, ScaleSymmetricMapsTheUnitIntervalToPlusMinusOne) {
  zoo::SampleRng rng = rng_for(0);
  const torch::Tensor y = ScaleSymmetric()(torch::tensor({0.0, 0.5, 1.0}), rng);
  EXPECT_TRUE(torch::allclose(y, torch::tensor({-1.0, 0.0, 1.0})));
}

TEST(Transforms, DequantizeStaysInsideEachLevelsBin) {
  const torch::Tensor k = torch::arange(256, torch::kFloat);
  zoo::SampleRng rng = rng_for(3);
  const torch::Tensor y = Dequantize()(k / 255.0, rng);
  // (k + u)/256 with u in [0, 1): floor(256 y) recovers k and the offsets look uniform.
  EXPECT_TRUE(torch::equal(torch::floor(y * 256), k));
  const torch::Tensor u = y * 256 - k;
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 0.05);
  zoo::SampleRng other = rng_for(4);
  EXPECT_FALSE(torch::equal(y, Dequantize()(k / 255.0, other)));
}

TEST(Transforms, LogitAndItsLogDetMatchAutograd) {
  zoo::SampleRng rng = rng_for(0);
  const double alpha = 0.05;
  torch::Tensor x = torch::rand({2, 5}, torch::kDouble).requires_grad_(true);
  const torch::Tensor y = Logit(alpha)(x, rng);
  const torch::Tensor p = alpha + (1 - 2 * alpha) * x.detach();
  EXPECT_TRUE(torch::allclose(y.detach(), torch::log(p / (1 - p))));
  // The Jacobian is diagonal: log|det| is the sum of log dy_i/dx_i.
  const torch::Tensor grad = torch::autograd::grad({y.sum()}, {x})[0];
  EXPECT_TRUE(torch::allclose(logit_log_det(x.detach(), alpha), torch::log(grad).sum(1)));
}

TEST(Transforms, ComposeAppliesInOrder) {
  zoo::SampleRng rng = rng_for(0);
  Compose compose({std::make_shared<ScaleSymmetric>(),
                   std::make_shared<Normalize>(std::vector<double>{1.0}, std::vector<double>{2.0})});
  EXPECT_TRUE(torch::allclose(compose(torch::tensor({1.0}), rng), torch::tensor({0.0})));
}

// torchvision 0.14's RandomErasing.get_params at 28×28 with the default scale and ratio
// erases 0.1740 of the image on average (measured with /usr/bin/python3 over 20,000 draws,
// counting the draws where all ten tries fail as nothing erased).
TEST(Transforms, RandomErasingBlanksOneRectangleOfTorchvisionsSize) {
  const torch::Tensor x = torch::rand({3, 28, 28}, torch::TensorOptions().dtype(torch::kFloat)) + 1;
  RandomErasingOptions options;
  options.p = 1;
  const RandomErasing erase(options);
  double erased_fraction = 0;
  const int draws = 20000;
  for (uint64_t i = 0; i < draws; ++i) {
    zoo::SampleRng rng = rng_for(i);
    const torch::Tensor y = erase(x, rng);
    const torch::Tensor zero = y == 0;
    // The same pixels in every channel, forming one rectangle; everything else untouched.
    ASSERT_TRUE(torch::equal(zero[0], zero[1]) && torch::equal(zero[0], zero[2]));
    ASSERT_TRUE(torch::equal(torch::where(zero, x, y), x));
    const int64_t count = zero[0].sum().item<int64_t>();
    if (count > 0) {
      const torch::Tensor rows = zero[0].any(1).nonzero(), cols = zero[0].any(0).nonzero();
      ASSERT_EQ(count, rows.size(0) * cols.size(0));
      ASSERT_EQ(rows[-1].item<int64_t>() - rows[0].item<int64_t>() + 1, rows.size(0));
      ASSERT_EQ(cols[-1].item<int64_t>() - cols[0].item<int64_t>() + 1, cols.size(0));
    }
    erased_fraction += static_cast<double>(count) / (28 * 28);
  }
  EXPECT_NEAR(erased_fraction / draws, 0.1740, 0.01);

  options.p = 0.3;
  int touched = 0;
  for (uint64_t i = 0; i < 2000; ++i) {
    zoo::SampleRng rng = rng_for(i);
    touched += !torch::equal(RandomErasing(options)(x, rng), x);
  }
  EXPECT_NEAR(touched / 2000.0, 0.3, 0.04);

  options.p = 1.5;
  EXPECT_THROW(RandomErasing{options}, zoo::Error);
  options.p = 0.5, options.scale_min = 0.5, options.scale_max = 0.2;
  EXPECT_THROW(RandomErasing{options}, zoo::Error);
  options.scale_min = 0.02, options.ratio_min = 0;
  EXPECT_THROW(RandomErasing{options}, zoo::Error);
}
