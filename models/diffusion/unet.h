#pragma once
// The denoising network for images: a U-Net in the style of DDPM++ / ADM (Song et al.
// 2021, Dhariwal & Nichol 2021, as in NVlabs/edm's SongUNet), sized by its options.
//
//   conv_in → per level: `blocks` residual blocks (+ self-attention at the resolutions in
//   attention_resolutions), then a stride-2 downsampling conv except at the last level
//   → middle: residual, attention, residual
//   → per level, reversed: `blocks` + 1 residual blocks, each fed the matching encoder
//   activation by concatenation, attention likewise, then nearest upsampling to the
//   encoder's size (odd sizes such as 7 → 14 → 28 work) → GroupNorm, SiLU, conv_out.
//
// Residual blocks (SiLU unless options.activation says otherwise): GroupNorm, SiLU, 3×3 conv, + the embedding projected
// to a per-channel scale and shift, GroupNorm, SiLU, dropout, 3×3 conv; the sum with the skip is scaled by 1/√2 (EDM's
// skip_scale). The embedding is the noise embedding (positional or Fourier) through a two-layer MLP, plus a class
// embedding when the net is class-conditional.
#include <vector>

#include "core/json_fields.h"
#include "models/diffusion/denoising_net.h"
#include "models/diffusion/noise_embedding.h"
#include "models/nn/activations.h"

namespace zoo::diffusion {

struct UNetOptions {
  int64_t in_channels = 1;
  int64_t resolution = 28;                        // input height = width
  int64_t channels = 32;                          // at the first level
  std::vector<int64_t> channel_mult = {1, 2, 2};  // per level; each level after the first halves the size
  int64_t blocks = 2;                             // residual blocks per level (encoder)
  std::vector<int64_t> attention_resolutions = {7};
  int64_t attention_head_channels = 64;  // heads = channels / this (at least 1)
  double dropout = 0.1;
  std::string embedding_kind = "positional";  // positional (DDPM++) or fourier (NCSN++)
  int64_t num_classes = 0;                    // 0: unconditional
  double label_dropout = 0.1;                 // classifier-free guidance training
  std::string activation = "silu";            // models/nn/activations.h
};

template <class Visit>
void visit_fields(UNetOptions& o, Visit&& field) {
  field("in_channels", o.in_channels);
  field("resolution", o.resolution);
  field("channels", o.channels);
  field("channel_mult", o.channel_mult);
  field("blocks", o.blocks);
  field("attention_resolutions", o.attention_resolutions);
  field("attention_head_channels", o.attention_head_channels);
  field("dropout", o.dropout);
  field("embedding_kind", o.embedding_kind);
  field("num_classes", o.num_classes);
  field("label_dropout", o.label_dropout);
  field("activation", o.activation);
}

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int64_t in, int64_t out, int64_t embedding, double dropout, const std::string& activation);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& embedding);

 private:
  torch::nn::GroupNorm norm0_{nullptr}, norm1_{nullptr};
  torch::nn::Conv2d conv0_{nullptr}, conv1_{nullptr}, skip_{nullptr};
  torch::nn::Linear affine_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  models::Activation act0_{nullptr}, act1_{nullptr};
};
TORCH_MODULE(ResidualBlock);

// Multi-head self-attention over the pixels of a feature map, with a residual connection.
class AttentionBlockImpl : public torch::nn::Module {
 public:
  AttentionBlockImpl(int64_t channels, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t heads_;
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Conv2d qkv_{nullptr}, proj_{nullptr};
};
TORCH_MODULE(AttentionBlock);

// One step of the U-Net: a residual block (with attention after it when heads > 0, and
// the matching encoder activation concatenated to its input when it takes a skip), or a
// resampling conv. The U-Net is three flat lists of these, so forward() reads like the
// diagram above.
class UNetLayerImpl : public torch::nn::Module {
 public:
  enum class Kind { block, down, up };
  // Blocks take their embedding width (4 × channels), dropout and activation from `net`.
  UNetLayerImpl(Kind kind, int64_t in, int64_t out, int64_t heads, bool takes_skip, const UNetOptions& net);
  // `skips`: the encoder activations still to be consumed (decoder blocks pop one; up
  // layers resize to the size of the next one).
  torch::Tensor forward(torch::Tensor h, const torch::Tensor& embedding, std::vector<torch::Tensor>& skips);

 private:
  Kind kind_;
  bool takes_skip_;
  ResidualBlock residual_{nullptr};
  AttentionBlock attention_{nullptr};
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(UNetLayer);

class UNetImpl : public DenoisingNetImpl {
 public:
  explicit UNetImpl(const UNetOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels) override;
  // The encoder and middle alone: the lowest-resolution features (what model_info and
  // receptive_field analyse as "the U-Net encoder").
  torch::Tensor bottleneck(const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels);
  int64_t num_classes() const override { return options_.num_classes; }
  const UNetOptions& options() const { return options_; }

 private:
  torch::Tensor embed(const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels);
  // Runs encoder and middle on h = conv_in(x), collecting the activations the decoder takes.
  torch::Tensor encode(const torch::Tensor& x, const torch::Tensor& embedding, std::vector<torch::Tensor>& skips);

  UNetOptions options_;
  NoiseEmbedding noise_embedding_{nullptr};
  torch::nn::Sequential embedding_mlp_{nullptr};
  ClassEmbedding class_embedding_{nullptr};
  torch::nn::Conv2d conv_in_{nullptr}, conv_out_{nullptr};
  torch::nn::GroupNorm norm_out_{nullptr};
  models::Activation embedding_act_{nullptr}, out_act_{nullptr};
  torch::nn::ModuleList encoder_{nullptr}, middle_{nullptr}, decoder_{nullptr};
};
TORCH_MODULE(UNet);

}  // namespace zoo::diffusion
