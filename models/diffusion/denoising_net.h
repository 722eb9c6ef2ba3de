#pragma once
// The network F that a denoiser wraps (precond.h): it sees the scaled input c_in·x, the
// noise level c_noise [B] and optional class labels [B], and returns a tensor shaped like
// x. The MLP (vectors) and the U-Net (images) both derive from it, so preconditioning,
// losses, samplers and executables never know which one they hold.
#include <torch/torch.h>

#include <memory>

#include "core/json.h"
#include "models/diffusion/precond.h"

namespace zoo::diffusion {

class DenoisingNetImpl : public torch::nn::Module {
 public:
  // labels: int64 [B], −1 for "no class"; undefined for an unconditional call.
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels) = 0;
  virtual int64_t num_classes() const = 0;  // 0: unconditional
};

// F as the function precond.h's denoise() calls.
Network as_network(const std::shared_ptr<DenoisingNetImpl>& net);

// The class embedding of a conditional network, with a learned "no class" row (index
// num_classes) for classifier-free guidance: labels −1, missing labels, and, in training,
// each label with probability label_dropout (Ho & Salimans 2022) map to it.
class ClassEmbeddingImpl : public torch::nn::Module {
 public:
  ClassEmbeddingImpl(int64_t num_classes, int64_t channels, double label_dropout);
  // [B] labels (or undefined, for a batch of `batch`) -> [B, channels].
  torch::Tensor forward(const torch::Tensor& labels, int64_t batch, const torch::Device& device);

 private:
  int64_t num_classes_;
  double label_dropout_;
  torch::nn::Embedding embedding_{nullptr};
};
TORCH_MODULE(ClassEmbedding);

}  // namespace zoo::diffusion
