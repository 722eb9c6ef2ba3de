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
//
// In eval mode without autograd, on float32 CPU inputs, the unit runs as one oneDNN
// convolution (models/nn/packed_conv.h) with the BatchNorm folded in, the activation (SiLU,
// ReLU or none) and any addend applied as post-ops, and returns channels-last outputs: the
// same values up to float rounding, at a fraction of the memory traffic. The packed weights
// are rebuilt whenever a parameter or statistic changes (load_state_dict, an optimiser step).
#include <torch/torch.h>

#include <mutex>
#include <string>

#include "core/distributed.h"
#include "models/nn/activations.h"
#include "models/nn/packed_conv.h"

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
  // forward(input) + addend, the addend (a residual) added in the convolution's own pass
  // where the unit runs on oneDNN (below).
  torch::Tensor forward_add(const torch::Tensor& input, const torch::Tensor& addend);

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
  // The packed convolution for this input, or null where the ATen path must run.
  std::shared_ptr<PackedConv> packed_for(const torch::Tensor& input);

  bool fused_ = false;
  std::shared_ptr<PackedConv> packed_;
  std::vector<int64_t> packed_stamp_;  // the address and version of each tensor it was made from
  std::shared_ptr<std::mutex> packed_mutex_ = std::make_shared<std::mutex>();  // shared: modules are copied
};
TORCH_MODULE(ConvNormActivation);

}  // namespace zoo::models
