#pragma once
// EfficientNet V1 (B0…B7, any φ) and V2 (S, M, L), module for module torchvision's, so that
// state_dict() keys and shapes match torchvision's key for key and its weights load with
// weights::load_state_dict:
//
//   features.0            stem: 3×3 stride-2 ConvNormActivation to the first stage's width
//   features.1…S          one Sequential per stage, blocks "0"…"n−1" (MBConv / FusedMBConv)
//   features.S+1          head: 1×1 ConvNormActivation to head_channels(config)
//   avgpool               global average pool
//   classifier.0 / .1     Dropout, Linear(head_channels, num_classes)
//
// forward(x) takes [N, in_channels, H, W] (any H, W ≥ 1) and returns [N, num_classes]
// logits. Initialisation is torchvision's: Kaiming-normal (fan-out) convolutions, zero
// biases, BatchNorm ones/zeros, Linear uniform ±1/√out_features.
#include <torch/torch.h>

#include "models/efficientnet/config.h"

namespace zoo::models {

class EfficientNetImpl : public torch::nn::Cloneable<EfficientNetImpl> {
 public:
  explicit EfficientNetImpl(const EfficientNetConfig& config = EfficientNetConfig());
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  // The pooled [N, head_channels] features the classifier sees (for embeddings / fine-tuning).
  torch::Tensor forward_features(const torch::Tensor& x);

  const EfficientNetConfig& config() const { return config_; }

  torch::nn::Sequential features{nullptr};
  torch::nn::AdaptiveAvgPool2d avgpool{nullptr};
  torch::nn::Sequential classifier{nullptr};

 private:
  EfficientNetConfig config_;
};
TORCH_MODULE(EfficientNet);

// Sets torchvision's initialisation on every Conv2d, BatchNorm2d and Linear in the tree.
void init_efficientnet_weights(torch::nn::Module& model);

// models/nn/fuse.h's fuse_for_inference for an EfficientNet holder.
void fuse_for_inference(EfficientNet& model, bool channels_last = false);

}  // namespace zoo::models
