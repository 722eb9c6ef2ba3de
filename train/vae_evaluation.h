#pragma once
// The test ELBO of a VAE on a fixed binarisation of the test images: every pixel is drawn
// once as Bernoulli(intensity) from a generator seeded by the run's seed, so every epoch
// and every run with that seed scores the same binary images (the convention of Larochelle
// & Murray's binarised MNIST, applied to any image data).
#include <torch/torch.h>

#include "core/distributed.h"
#include "data/dataset.h"
#include "models/vae/vae.h"

namespace zoo::train {

struct VaeEvaluation {
  double elbo = 0, reconstruction = 0, kl = 0;  // nats per example
  int64_t examples = 0;
};

torch::Tensor fixed_binarization(const data::Dataset& dataset, uint64_t seed);

// Exact one-hot (or Gaussian) latent samples, test image i's from (seed, i) alone, so the
// number depends neither on the batch size nor on the ranks: each rank of the group scores
// its share and the sums are added over the ranks.
VaeEvaluation evaluate_vae(models::Vae& vae, const torch::Tensor& binary_images, uint64_t seed, Distributed& group,
                           int64_t batch_size = 500);

}  // namespace zoo::train
