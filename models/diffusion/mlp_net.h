#pragma once
// The denoising network for vectors (2-D toy data, tabular features): residual MLP blocks
// with the noise (and class) embedding added to every block's input, like the networks
// used for toy data in the flow-matching and rectified-flow papers.
#include "core/json_fields.h"
#include "models/diffusion/denoising_net.h"
#include "models/diffusion/noise_embedding.h"
#include "models/nn/activations.h"

namespace zoo::diffusion {

struct MlpNetOptions {
  int64_t features = 2;                       // length of the vectors
  int64_t hidden = 256;                       // width of every block
  int64_t blocks = 3;                         // residual blocks
  int64_t embedding = 64;                     // noise-embedding channels
  std::string embedding_kind = "positional";  // positional or fourier
  int64_t num_classes = 0;                    // 0: unconditional
  double label_dropout = 0;                   // classifier-free guidance training
  std::string activation = "silu";            // models/nn/activations.h
};

template <class Visit>
void visit_fields(MlpNetOptions& o, Visit&& field) {
  field("features", o.features);
  field("hidden", o.hidden);
  field("blocks", o.blocks);
  field("embedding", o.embedding);
  field("embedding_kind", o.embedding_kind);
  field("num_classes", o.num_classes);
  field("label_dropout", o.label_dropout);
  field("activation", o.activation);
}

class MlpNetImpl : public DenoisingNetImpl {
 public:
  explicit MlpNetImpl(const MlpNetOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels) override;
  int64_t num_classes() const override { return options_.num_classes; }
  const MlpNetOptions& options() const { return options_; }

 private:
  MlpNetOptions options_;
  NoiseEmbedding noise_embedding_{nullptr};
  torch::nn::Sequential embedding_mlp_{nullptr};
  ClassEmbedding class_embedding_{nullptr};
  torch::nn::Linear input_{nullptr}, output_{nullptr};
  models::Activation embedding_act_{nullptr}, output_act_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};        // per block: LayerNorm, Linear, activation, Linear
  torch::nn::ModuleList block_embeds_{nullptr};  // per block: the embedding's projection
};
TORCH_MODULE(MlpNet);

}  // namespace zoo::diffusion
