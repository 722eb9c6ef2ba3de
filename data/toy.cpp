#include "data/toy.h"

#include <array>
#include <cmath>
#include <random>

#include "core/error.h"
#include "core/limits.h"

namespace zoo::data {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr uint64_t kTrainSeed = 0, kTestSeed = 1;

// The engine's output is fixed by the C++ standard but std's distributions are not; drawing
// the variates here keeps the samples independent of the standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // U[0, 1) from the top 53 bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  // Uniform over 0, 1, ..., count - 1.
  int64_t index(int64_t count) { return static_cast<int64_t>(uniform() * static_cast<double>(count)); }

  // N(0, 1) by the Box-Muller transform, which makes two at a time: the second is kept.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));  // 1 - u > 0: finite log
    const double angle = 2.0 * kPi * uniform();
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

using Point = std::array<double, 2>;

Point moons(Rng& rng, int64_t index) {
  const double theta = kPi * rng.uniform();
  const Point moon =
      index % 2 == 0 ? Point{std::cos(theta), std::sin(theta)} : Point{1.0 - std::cos(theta), 0.5 - std::sin(theta)};
  const double x = moon[0] + 0.1 * rng.normal(), y = moon[1] + 0.1 * rng.normal();
  return {2.0 * x - 1.0, 2.0 * y - 0.2};
}

Point eight_gaussians(Rng& rng, int64_t) {
  const double angle = kPi / 4.0 * static_cast<double>(rng.index(8));
  const double x = 4.0 * std::cos(angle) + 0.5 * rng.normal(), y = 4.0 * std::sin(angle) + 0.5 * rng.normal();
  return {x / 1.414, y / 1.414};
}

Point checkerboard(Rng& rng, int64_t) {
  const double x1 = rng.uniform(-2.0, 2.0);
  const double column = std::floor(x1);
  const double column_parity = column - 2.0 * std::floor(column / 2.0);  // floor(x1) mod 2, never negative
  const double x2 = rng.uniform() - 2.0 * static_cast<double>(rng.index(2)) + column_parity;
  return {2.0 * x1, 2.0 * x2};
}

Point two_spirals(Rng& rng, int64_t index) {
  const double n = std::sqrt(rng.uniform()) * 540.0 * 2.0 * kPi / 360.0;
  const double x = -std::cos(n) * n + 0.5 * rng.uniform(), y = std::sin(n) * n + 0.5 * rng.uniform();
  const double sign = index % 2 == 0 ? 1.0 : -1.0;  // the second spiral is the first one negated
  return {sign * x / 3.0 + 0.1 * rng.normal(), sign * y / 3.0 + 0.1 * rng.normal()};
}

Point pinwheel(Rng& rng, int64_t) {
  const double arm = static_cast<double>(rng.index(5));
  const double radial = 1.0 + 0.3 * rng.normal(), tangential = 0.1 * rng.normal();
  const double angle = 2.0 * kPi * arm / 5.0 + 0.25 * std::exp(radial);
  // FFJORD multiplies the row vector (radial, tangential) by [[cos, -sin], [sin, cos]], a
  // rotation by -angle: this sets the direction in which the arms curl.
  const double c = std::cos(angle), s = std::sin(angle);
  return {2.0 * (radial * c + tangential * s), 2.0 * (tangential * c - radial * s)};
}

Point circles(Rng& rng, int64_t index) {
  const double radius = index % 2 == 0 ? 1.0 : 0.5;
  const double angle = 2.0 * kPi * rng.uniform();
  const double x = radius * std::cos(angle) + 0.08 * rng.normal(), y = radius * std::sin(angle) + 0.08 * rng.normal();
  return {3.0 * x, 3.0 * y};
}

Point swissroll(Rng& rng, int64_t) {
  const double t = 1.5 * kPi * (1.0 + 2.0 * rng.uniform());
  return {(t * std::cos(t) + rng.normal()) / 5.0, (t * std::sin(t) + rng.normal()) / 5.0};
}

struct Toy {
  const char* name;
  Point (*sample)(Rng&, int64_t index);
};

constexpr Toy kToys[] = {{"moons", moons},          {"8gaussians", eight_gaussians}, {"checkerboard", checkerboard},
                         {"2spirals", two_spirals}, {"pinwheel", pinwheel},          {"circles", circles},
                         {"swissroll", swissroll}};

const Toy& find_toy(const std::string& name) {
  for (const Toy& toy : kToys)
    if (name == toy.name) return toy;
  std::string known;
  for (const Toy& toy : kToys) known += (known.empty() ? "" : ", ") + std::string(toy.name);
  throw Error("toy:" + name + ": unknown toy distribution (known: " + known + ")", ErrorKind::usage);
}

}  // namespace

const std::vector<std::string>& toy_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> list;
    for (const Toy& toy : kToys) list.emplace_back(toy.name);
    return list;
  }();
  return names;
}

torch::Tensor sample_toy(const std::string& name, int64_t n, uint64_t seed) {
  const Toy& toy = find_toy(name);
  if (n < 0) throw Error("toy:" + name + ": cannot draw " + std::to_string(n) + " points", ErrorKind::usage);
  check_limit("toy:" + name + ": the number of points to draw", static_cast<double>(n), kMaxToyPoints,
              ErrorKind::usage);
  Rng rng(seed);
  torch::Tensor points = torch::empty({n, 2}, torch::kDouble);
  auto access = points.accessor<double, 2>();
  for (int64_t i = 0; i < n; ++i) {
    const Point point = toy.sample(rng, i);
    access[i][0] = point[0];
    access[i][1] = point[1];
  }
  return points.to(torch::kFloat);
}

DatasetPtr load_toy(const std::string& name, Split split, int64_t train_size, int64_t test_size) {
  const int64_t size = split == Split::train ? train_size : test_size;
  if (size < 1)
    throw Error(
        "toy:" + name + ": the " + to_string(split) + " split needs at least 1 point, got " + std::to_string(size),
        ErrorKind::usage);
  // Both sizes, whichever split is opened: a spec is refused as a whole.
  check_limit("toy:" + name + ": train", static_cast<double>(train_size), kMaxToyPoints, ErrorKind::usage);
  check_limit("toy:" + name + ": test", static_cast<double>(test_size), kMaxToyPoints, ErrorKind::usage);
  DatasetInfo info{"toy:" + name, {}, {}};
  return std::make_shared<TensorDataset>(std::move(info),
                                         sample_toy(name, size, split == Split::train ? kTrainSeed : kTestSeed));
}

}  // namespace zoo::data
