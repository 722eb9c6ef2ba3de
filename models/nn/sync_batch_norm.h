#pragma once
// Synchronised batch normalisation for data-parallel training (PyTorch's SyncBatchNorm):
// in training, each channel is normalised with the mean and variance of the global batch —
// every rank's examples — not just its own, so B examples on each of W ranks train exactly
// like one process with W·B. Forward all-reduces each channel's count, sum and sum of
// squares; backward all-reduces Σ dy and Σ dy·x̂, which the input gradient needs because
// every example moved the shared statistics. Running statistics are updated from the
// global ones (unbiased variance), identically on every rank. Evaluation is unchanged.
#include <torch/torch.h>

#include <memory>

#include "core/distributed.h"

namespace zoo::models {

// x [N, C, H, W] in training mode through `norm`'s affine parameters and running buffers.
torch::Tensor sync_batch_norm(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& norm, Distributed& group);

// Makes every ConvNormActivation inside `module` normalise with the group's statistics in
// training (the zoo's counterpart of torch.nn.SyncBatchNorm.convert_sync_batchnorm). A
// group of one process leaves the module as it is.
void convert_sync_batch_norm(torch::nn::Module& module, const std::shared_ptr<Distributed>& group);

}  // namespace zoo::models
