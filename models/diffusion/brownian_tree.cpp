#include "models/diffusion/brownian_tree.h"

#include <cmath>

#include "core/error.h"
#include "core/seed.h"

namespace zoo::diffusion {

BrownianTree::BrownianTree(std::vector<int64_t> shape, double t0, double t1, uint64_t seed, uint64_t first_index,
                           torch::TensorOptions options, double tolerance)
    : shape_(std::move(shape)),
      t0_(std::min(t0, t1)),
      t1_(std::max(t0, t1)),
      seed_(seed),
      first_index_(first_index),
      options_(options),
      resolution_(tolerance * std::abs(t1 - t0)) {
  if (!(t1_ > t0_)) throw Error("a Brownian tree needs t0 < t1", ErrorKind::runtime);
}

torch::Tensor BrownianTree::normal(uint64_t node) const {
  const uint64_t key = derive_seed(seed_, static_cast<uint64_t>(Stream::brownian), node);
  return per_sample_randn(shape_, key, Stream::brownian, first_index_, options_.device()).to(options_.dtype());
}

torch::Tensor BrownianTree::at(double t) const {
  if (t < t0_ || t > t1_) throw Error("Brownian tree: time outside its interval", ErrorKind::runtime);
  if (t == cached_t_) return cached_w_;
  cached_w_ = walk(t);
  cached_t_ = t;
  return cached_w_;
}

torch::Tensor BrownianTree::walk(double t) const {
  // Draw 0 gives W(t1). Interval n (the whole is 1; n's halves are 2n and 2n + 1) draws
  // its midpoint from the Brownian bridge between its ends with draw n.
  double a = t0_, b = t1_;
  torch::Tensor wa = torch::zeros(shape_, options_), wb = std::sqrt(b - a) * normal(0);
  uint64_t node = 1;
  while (b - a > resolution_ && node < (uint64_t{1} << 62)) {
    if (t == a) return wa;
    if (t == b) return wb;
    const double mid = 0.5 * (a + b);
    const torch::Tensor w_mid = 0.5 * (wa + wb) + std::sqrt(0.25 * (b - a)) * normal(node);
    if (t < mid) {
      b = mid, wb = w_mid, node = 2 * node;
    } else {
      a = mid, wa = w_mid, node = 2 * node + 1;
    }
  }
  return wa + (wb - wa) * ((t - a) / (b - a));
}

torch::Tensor BrownianTree::noise(double t, double t_next) const {
  const torch::Tensor start = at(t);  // first: the previous step's end, kept
  return (at(t_next) - start) / std::sqrt(std::abs(t_next - t));
}

}  // namespace zoo::diffusion
