#pragma once
// Convolution → BatchNorm → activation, the unit every convolutional zoo model is made
// of (torchvision's Conv2dNormActivation). Its children are named "0" (Conv2d, no bias
// when followed by a norm), "1" (BatchNorm2d) and "2" (the activation; parameters only for prelu),
// so state_dict keys read "<unit>.0.weight", "<unit>.1.running_mean" as in torchvision.
//
// Why a module rather than a torch::nn::Sequential: it pads dynamically in TensorFlow
// "same" mode, runs BatchNorm over the whole data-parallel group when asked (SyncBN), and can
// fold its BatchNorm into the convolution for inference (fuse()), none of which a Sequential
// can do.
#include <torch/torch.h>

#include <string>

#include "core/distributed.h"
#include "models/nn/activations.h"

namespace zoo::models {

struct ConvNormActivationOptions {
  ConvNormActivationOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, groups) = 1;
  TORCH_ARG(int64_t, dilation) = 1;
  TORCH_ARG(bool, norm) = true;  // false: the convolution gets a bias instead
  TORCH_ARG(double, norm_eps) = 1e-5;
  TORCH_ARG(double, norm_momentum) = 0.1;
  // Any name of models/nn/activations.h; "identity" registers no child "2" (torchvision's
  // projection units have none).
  TORCH_ARG(std::string, activation) = "silu";
  // TensorFlow "same" padding computed per input (models/nn/same_padding.h) instead of
  // PyTorch's symmetric dilation·(k − 1)/2.
  TORCH_ARG(bool, same_padding) = false;
};

class ConvNormActivationImpl : public torch::nn::Cloneable<ConvNormActivationImpl> {
 public:
  explicit ConvNormActivationImpl(const ConvNormActivationOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& input);
  void pretty_print(std::ostream& stream) const override;

  // Folds the BatchNorm's running statistics and affine parameters into the convolution
  // (which gains a bias) and replaces child "1" with an Identity. Only valid for
  // inference: the result no longer normalises with batch statistics. Idempotent. A
  // fused unit's clone() rebuilds it unfused (reset() follows the options): clone first.
  void fuse();
  bool fused() const { return fused_; }

  ConvNormActivationOptions options;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d norm{nullptr};  // null without a norm, and after fuse()
  Activation activation{nullptr};        // null for "identity"
  // Set by convert_sync_batch_norm (models/nn/sync_batch_norm.h): training normalises with
  // the statistics of this group's global batch.
  std::shared_ptr<Distributed> sync_group;

 private:
  bool fused_ = false;
};
TORCH_MODULE(ConvNormActivation);

}  // namespace zoo::models
