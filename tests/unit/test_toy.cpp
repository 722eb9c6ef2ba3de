#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "core/error.h"
#include "data/toy.h"
#include "support/test_support.h"

// Each distribution is checked against statistics derived from its definition (see
// data/toy.h), with tolerances of about four standard errors at n = 100000: a wrong
// scale, offset, noise level or shape moves at least one of them well outside.

namespace {

using zoo::data::sample_toy;

constexpr double kPi = 3.14159265358979323846;
constexpr int64_t kN = 100000;

torch::Tensor sample(const std::string& name) { return sample_toy(name, kN, 2024).to(torch::kDouble); }
torch::Tensor xs(const torch::Tensor& points) { return points.select(1, 0); }
torch::Tensor ys(const torch::Tensor& points) { return points.select(1, 1); }
double average(const torch::Tensor& values) { return values.mean().item<double>(); }

// E f(u) for u ~ U(0, 1) by the midpoint rule: reference values computed from the
// definitions, independently of the sampler.
double expect_uniform(const std::function<double(double)>& f) {
  constexpr int kSteps = 1000000;
  double sum = 0.0;
  for (int i = 0; i < kSteps; ++i) sum += f((i + 0.5) / kSteps);
  return sum / kSteps;
}

// Counts of each value 0..bins-1 relative to an even share count / bins.
void expect_even_counts(const torch::Tensor& bin, int64_t bins, double tolerance) {
  const torch::Tensor counts = torch::bincount(bin, {}, bins).to(torch::kDouble);
  const double share = static_cast<double>(bin.numel()) / static_cast<double>(bins);
  EXPECT_LT(counts.sub(share).abs().max().item<double>(), tolerance * share) << counts;
}

// The angle wrapped into [-period / 2, period / 2).
torch::Tensor wrap(const torch::Tensor& angle, double period) {
  return angle.add(period / 2).remainder(period).sub(period / 2);
}

}  // namespace

TEST(Toy, NamesAreTheSevenDistributions) {
  EXPECT_EQ(zoo::data::toy_names(), (std::vector<std::string>{"moons", "8gaussians", "checkerboard", "2spirals",
                                                              "pinwheel", "circles", "swissroll"}));
}

TEST(Toy, SamplesDependOnlyOnNameSizeAndSeed) {
  for (const std::string& name : zoo::data::toy_names()) {
    SCOPED_TRACE(name);
    const torch::Tensor points = sample_toy(name, 1000, 7);
    EXPECT_EQ(points.scalar_type(), torch::kFloat);
    EXPECT_EQ(points.sizes(), torch::IntArrayRef({1000, 2}));
    EXPECT_TRUE(points.isfinite().all().item<bool>());
    EXPECT_TRUE(torch::equal(points, sample_toy(name, 1000, 7)));
    EXPECT_TRUE(torch::equal(points.slice(0, 0, 10), sample_toy(name, 10, 7)));
    EXPECT_FALSE(torch::equal(points, sample_toy(name, 1000, 8)));
  }
}

TEST(Toy, UnknownNamesListTheKnownOnes) {
  try {
    sample_toy("spiral", 10, 0);
    FAIL() << "no zoo::Error thrown";
  } catch (const zoo::Error& error) {
    EXPECT_EQ(std::string(error.what()),
              "toy:spiral: unknown toy distribution (known: moons, 8gaussians, "
              "checkerboard, 2spirals, pinwheel, circles, swissroll)");
  }
}

TEST(Toy, DatasetsAreFixedUnlabelledSplits) {
  const auto train = zoo::data::load_toy("circles", zoo::data::Split::train);
  const auto test = zoo::data::load_toy("circles", zoo::data::Split::test);
  EXPECT_EQ(train->info().name, "toy:circles");
  EXPECT_EQ(train->info().shape, (std::vector<int64_t>{2}));
  EXPECT_TRUE(train->info().classes.empty());
  EXPECT_EQ(train->get(0).label, -1);
  const auto* train_points = dynamic_cast<const zoo::data::TensorDataset*>(train.get());
  const auto* test_points = dynamic_cast<const zoo::data::TensorDataset*>(test.get());
  ASSERT_TRUE(train_points && test_points);
  EXPECT_TRUE(torch::equal(train_points->inputs(), sample_toy("circles", 20000, 0)));
  EXPECT_TRUE(torch::equal(test_points->inputs(), sample_toy("circles", 5000, 1)));
  EXPECT_EQ(zoo::data::load_toy("moons", zoo::data::Split::test, 100, 30)->size(), 30);
  EXPECT_THROW(zoo::data::load_toy("moons", zoo::data::Split::train, 0), zoo::Error);
}

TEST(Toy, MoonsHaveTheirMeanAndSpread) {
  // (cos θ, sin θ) or (1 - cos θ, 0.5 - sin θ) with θ ~ U(0, π), each coordinate + N(0, 0.1²),
  // then (2x - 1, 2y - 0.2). With E cos θ = 0, E cos² θ = E sin² θ = 1/2 and E sin θ = 2/π:
  // x: mean 2 * 1/2 - 1 = 0, variance 4 (1/2 + 1/4 + 0.01) (the two moons' means 0 and 1 add 1/4);
  // y: mean 2 * 1/4 - 0.2 = 0.3, variance 4 (1/2 - 4/π² + (1/4)(4/π - 1/2)² + 0.01).
  const torch::Tensor points = sample("moons");
  EXPECT_NEAR(average(xs(points)), 0.0, 0.02);
  EXPECT_NEAR(average(ys(points)), 0.3, 0.02);
  EXPECT_NEAR(xs(points).var().item<double>(), 4 * (0.5 + 0.25 + 0.01), 0.04);
  const double moon_gap = 4 / kPi - 0.5;
  EXPECT_NEAR(ys(points).var().item<double>(), 4 * (0.5 - 4 / (kPi * kPi) + 0.25 * moon_gap * moon_gap + 0.01), 0.02);
}

TEST(Toy, EightGaussiansSitAroundTheirCentres) {
  const torch::Tensor points = sample("8gaussians");
  torch::Tensor centres = torch::empty({8, 2}, torch::kDouble);
  for (int k = 0; k < 8; ++k) {
    centres[k][0] = 4 * std::cos(k * kPi / 4) / 1.414;
    centres[k][1] = 4 * std::sin(k * kPi / 4) / 1.414;
  }
  const auto [distance, nearest] = torch::cdist(points, centres).min(1);
  // The offset from the centre is N(0, 0.5² I) / 1.414: its length has the Rayleigh mean
  // 0.5 sqrt(π/2) / 1.414.
  EXPECT_NEAR(average(distance), 0.5 * std::sqrt(kPi / 2) / 1.414, 0.005);
  expect_even_counts(nearest, 8, 0.04);
  EXPECT_NEAR(average(xs(points)), 0.0, 0.03);
  EXPECT_NEAR(average(ys(points)), 0.0, 0.03);
  // E|p|² = (|centre|² + 2 * 0.5²) / 1.414².
  EXPECT_NEAR(average(points.pow(2).sum(1)), (16 + 2 * 0.25) / (1.414 * 1.414), 0.05);
}

TEST(Toy, CheckerboardFillsTheBlackSquares) {
  // x1 ~ U(-2, 2) and x2 = u - 2b + (floor(x1) mod 2) lies in [0, 1) or [-2, -1) when floor(x1)
  // is even and in [1, 2) or [-1, 0) when it is odd: floor(x1) and floor(x2) have the same
  // parity. Doubled, the squares are 2 wide and cover [-4, 4)².
  const torch::Tensor points = sample("checkerboard");
  EXPECT_GE(points.min().item<double>(), -4.0);
  EXPECT_LT(points.max().item<double>(), 4.0);
  const torch::Tensor column = xs(points).div(2).floor().to(torch::kLong) + 2;  // 0..3
  const torch::Tensor row = ys(points).div(2).floor().to(torch::kLong) + 2;
  EXPECT_TRUE(column.add(row).remainder(2).eq(0).all().item<bool>()) << "a point on a white square";
  // The 8 black squares (numbered by column) are equally likely.
  expect_even_counts(column * 2 + row.div(2, "floor"), 8, 0.04);
  // Each coordinate is uniform on [-4, 4): mean 0, variance 8² / 12.
  EXPECT_NEAR(average(xs(points)), 0.0, 0.03);
  EXPECT_NEAR(average(ys(points)), 0.0, 0.03);
  EXPECT_NEAR(xs(points).var().item<double>(), 64.0 / 12, 0.06);
  EXPECT_NEAR(ys(points).var().item<double>(), 64.0 / 12, 0.06);
}

TEST(Toy, TwoSpiralsHaveTheSecondMomentsOfTheirDefinition) {
  // n = 3π sqrt(u); d = (-n cos n + a, n sin n + b) with a, b ~ U(0, 1/2) (mean 1/4, mean
  // square 1/12); a point is +d/3 or -d/3, plus N(0, 0.1²) noise.
  const auto n = [](double u) { return 3 * kPi * std::sqrt(u); };
  const double e_ncos = expect_uniform([&](double u) { return n(u) * std::cos(n(u)); });
  const double e_nsin = expect_uniform([&](double u) { return n(u) * std::sin(n(u)); });
  const double e_xx = expect_uniform([&](double u) { return std::pow(n(u) * std::cos(n(u)), 2); });
  const double e_yy = expect_uniform([&](double u) { return std::pow(n(u) * std::sin(n(u)), 2); });
  const double e_xy = expect_uniform([&](double u) { return n(u) * n(u) * std::cos(n(u)) * std::sin(n(u)); });

  const torch::Tensor points = sample("2spirals");
  // The spiral and its negation cancel in the mean.
  EXPECT_NEAR(average(xs(points)), 0.0, 0.02);
  EXPECT_NEAR(average(ys(points)), 0.0, 0.02);
  EXPECT_NEAR(average(xs(points).square()), (e_xx - e_ncos / 2 + 1.0 / 12) / 9 + 0.01, 0.04);
  EXPECT_NEAR(average(ys(points).square()), (e_yy + e_nsin / 2 + 1.0 / 12) / 9 + 0.01, 0.04);
  EXPECT_NEAR(average(xs(points) * ys(points)), (-e_xy - e_ncos / 4 + e_nsin / 4 + 1.0 / 16) / 9, 0.03);
}

TEST(Toy, PinwheelArmsCurlAsDefined) {
  // p = 2 R(-α) (r, t) with r ~ N(1, 0.3²), t ~ N(0, 0.1²) and α = 2πk/5 + 0.25 e^r.
  const torch::Tensor points = sample("pinwheel");
  const torch::Tensor radius = points.norm(2, 1) / 2;  // |(r, t)|
  EXPECT_NEAR(average(radius.square()), 1 + 0.3 * 0.3 + 0.1 * 0.1, 0.01);
  EXPECT_NEAR(radius.std().item<double>(), 0.3, 0.01);
  // The polar angle is atan2(t, r) - α, so angle + 0.25 e^radius is, up to a multiple of
  // 2π/5, about t / r: small (mean |t| / r ≈ 0.08). Arms curling the other way, at other
  // angles or with another radius in the exponent leave residuals of 0.27 or more.
  const double arm = 2 * kPi / 5;
  const torch::Tensor angle = torch::atan2(ys(points), xs(points));
  const torch::Tensor unrotated = angle + 0.25 * radius.exp();
  EXPECT_LT(average(wrap(unrotated, arm).abs()), 0.12);
  // The five arms are equally likely.
  expect_even_counts(unrotated.div(-arm).round().remainder(5).to(torch::kLong), 5, 0.04);
}

TEST(Toy, CirclesHaveRadiiThreeAndOneAndAHalf) {
  // Rings of radius 1 and 0.5 with N(0, 0.08²) noise, times 3: radii 3 and 1.5 with noise
  // σ = 0.24 per coordinate, which raises the mean distance to about R + σ² / (2R).
  const torch::Tensor points = sample("circles");
  const torch::Tensor radius = points.norm(2, 1);
  const torch::Tensor outer = radius.gt(2.25);
  EXPECT_NEAR(average(outer.to(torch::kDouble)), 0.5, 0.005);
  const double sigma = 3 * 0.08;
  const torch::Tensor outer_radius = radius.masked_select(outer), inner_radius = radius.masked_select(~outer);
  EXPECT_NEAR(average(outer_radius), 3 + sigma * sigma / 6, 0.005);
  EXPECT_NEAR(average(inner_radius), 1.5 + sigma * sigma / 3, 0.005);
  EXPECT_NEAR(outer_radius.std().item<double>(), sigma, 0.006);
  EXPECT_NEAR(inner_radius.std().item<double>(), sigma, 0.006);
  EXPECT_NEAR(average(xs(points)), 0.0, 0.02);
  EXPECT_NEAR(average(ys(points)), 0.0, 0.02);
}

TEST(Toy, SwissrollHasTheMomentsAndNoiseOfItsDefinition) {
  // t = 1.5π(1 + 2u); p = (t cos t + e1, t sin t + e2) / 5 with e ~ N(0, I).
  const auto t = [](double u) { return 1.5 * kPi * (1 + 2 * u); };
  const torch::Tensor points = sample("swissroll");
  EXPECT_NEAR(average(xs(points)), expect_uniform([&](double u) { return t(u) * std::cos(t(u)); }) / 5, 0.02);
  EXPECT_NEAR(average(ys(points)), expect_uniform([&](double u) { return t(u) * std::sin(t(u)); }) / 5, 0.02);
  EXPECT_NEAR(average(xs(points).square()),
              (expect_uniform([&](double u) { return std::pow(t(u) * std::cos(t(u)), 2); }) + 1) / 25, 0.04);
  EXPECT_NEAR(average(ys(points).square()),
              (expect_uniform([&](double u) { return std::pow(t(u) * std::sin(t(u)), 2); }) + 1) / 25, 0.04);
  EXPECT_NEAR(average(xs(points) * ys(points)),
              expect_uniform([&](double u) { return t(u) * t(u) * std::cos(t(u)) * std::sin(t(u)); }) / 25, 0.03);
  // On the curve, radius = angle (unwrapped): the distance from 5p to the nearest turn
  // (turns are 2π apart) is the noise along the radius, N(0, 1), plus e² / (2t) from the
  // noise across it, whose mean is E[1 / (2t)].
  const torch::Tensor q = points * 5;
  const torch::Tensor radius = q.norm(2, 1), angle = torch::atan2(ys(q), xs(q));
  const torch::Tensor off_curve = wrap(radius - angle, 2 * kPi);
  EXPECT_NEAR(average(off_curve), expect_uniform([&](double u) { return 1 / (2 * t(u)); }), 0.02);
  EXPECT_NEAR(off_curve.std().item<double>(), 1.0, 0.04);
}

TEST(HostileToy, PointCountsAreLimitedBeforeDrawing) {
  using zoo::data::load_toy;
  using zoo::data::Split;
  using zoo::test::throws_error_with;
  // train=99999999999 asked for 1.6 TB of doubles and died with std::bad_alloc. Both sizes
  // are checked, whichever split is opened.
  EXPECT_TRUE(throws_error_with([] { load_toy("moons", Split::train, 99999999999); },
                                {"toy:moons: train is 99999999999, over the limit of 10000000 points "
                                 "(kMaxToyPoints in core/limits.h)"}));
  EXPECT_TRUE(
      throws_error_with([] { load_toy("moons", Split::train, 20000, 10000001); }, {"toy:moons: test is 10000001"}));
  EXPECT_TRUE(throws_error_with([] { sample_toy("moons", 10000001, 0); }, {"kMaxToyPoints"}));
}
