#pragma once
// Brownian motion W(t) on [t0, t1] for every sample of a batch, drawn lazily by bisection —
// a Brownian tree, as torchsde's BrownianTree behind k-diffusion's BrownianTreeNoiseSampler.
// W at any time is fixed by (seed, sample index) alone: the noise an SDE sampler adds
// between two noise levels is the increment of one path, so a sample changes little when the
// number of steps changes, and sample i never depends on the batch it is drawn in.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace zoo::diffusion {

class BrownianTree {
 public:
  // `shape` is the batch's [B, ...]; sample k is index first_index + k. Times are resolved to
  // `tolerance`·(t1 − t0), between which W is the Brownian bridge's mean.
  BrownianTree(std::vector<int64_t> shape, double t0, double t1, uint64_t seed, uint64_t first_index,
               torch::TensorOptions options, double tolerance = 1e-5);

  torch::Tensor at(double t) const;  // W(t), W(t0) = 0
  // The standard normal increment from t to t_next: (W(t_next) − W(t)) / √|t_next − t|.
  torch::Tensor noise(double t, double t_next) const;

 private:
  torch::Tensor normal(uint64_t node) const;  // the draw of a tree node
  torch::Tensor walk(double t) const;         // W(t) from the root down

  std::vector<int64_t> shape_;
  double t0_, t1_;
  uint64_t seed_, first_index_;
  torch::TensorOptions options_;
  double resolution_;
  // The last W queried: a sampler asks for each level twice (as the end of one step and the
  // start of the next).
  mutable double cached_t_ = -1;
  mutable torch::Tensor cached_w_;
};

}  // namespace zoo::diffusion
