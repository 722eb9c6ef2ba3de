#pragma once
// Distances between a set of samples and data, for judging generative models.
#include <torch/torch.h>

namespace zoo::train {

// Sliced Wasserstein-2 distance between point sets a [N, D] and b [M, D]: the root mean
// over `projections` random unit directions (drawn from `seed`) of the squared 1-D W2
// distance between the projected sets, compared at min(N, M) evenly spaced quantiles.
double sliced_wasserstein(const torch::Tensor& a, const torch::Tensor& b, int64_t projections = 1024,
                          uint64_t seed = 0);

// Fréchet distance between Gaussians fitted to two feature sets [N, F] and [M, F]
// (Heusel et al. 2017): ‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2(Σ_a^½ Σ_b Σ_a^½)^½), in float64,
// the matrix roots by symmetric eigendecomposition.
double frechet_distance(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace zoo::train
