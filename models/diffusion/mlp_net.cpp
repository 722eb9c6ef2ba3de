#include "models/diffusion/mlp_net.h"

#include "core/error.h"

namespace zoo::diffusion {

namespace nn = torch::nn;

MlpNetImpl::MlpNetImpl(const MlpNetOptions& o) : options_(o) {
  if (o.features < 1 || o.hidden < 1 || o.blocks < 1 || o.num_classes < 0)
    throw Error("mlp config: features, hidden and blocks must be positive", ErrorKind::usage);
  noise_embedding_ = register_module("noise_embedding", NoiseEmbedding(o.embedding_kind, o.embedding));
  embedding_mlp_ = register_module(
      "embedding_mlp", nn::Sequential(nn::Linear(o.embedding, o.hidden), models::Activation(o.activation, o.hidden),
                                      nn::Linear(o.hidden, o.hidden)));
  embedding_act_ = register_module("embedding_act", models::Activation(o.activation, o.hidden));
  output_act_ = register_module("output_act", models::Activation(o.activation, o.hidden));
  if (o.num_classes > 0)
    class_embedding_ = register_module("class_embedding", ClassEmbedding(o.num_classes, o.hidden, o.label_dropout));
  input_ = register_module("input", nn::Linear(o.features, o.hidden));
  blocks_ = register_module("blocks", nn::ModuleList());
  block_embeds_ = register_module("block_embeds", nn::ModuleList());
  for (int64_t i = 0; i < o.blocks; ++i) {
    blocks_->push_back(nn::Sequential(nn::LayerNorm(nn::LayerNormOptions({o.hidden})), nn::Linear(o.hidden, o.hidden),
                                      models::Activation(o.activation, o.hidden), nn::Linear(o.hidden, o.hidden)));
    block_embeds_->push_back(nn::Linear(o.hidden, o.hidden));
  }
  output_ = register_module("output", nn::Linear(o.hidden, o.features));
}

torch::Tensor MlpNetImpl::forward(const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels) {
  if (x.dim() != 2 || x.size(1) != options_.features)
    throw Error("mlp: expected input [B, " + std::to_string(options_.features) + "], got " + c10::str(x.sizes()),
                ErrorKind::input);
  torch::Tensor emb = embedding_mlp_->forward(noise_embedding_->forward(c_noise));
  if (class_embedding_) emb = emb + class_embedding_->forward(labels, x.size(0), x.device());
  emb = embedding_act_->forward(emb);
  torch::Tensor h = input_->forward(x);
  for (size_t i = 0; i < blocks_->size(); ++i)
    h = h + blocks_[i]->as<nn::Sequential>()->forward(h + block_embeds_[i]->as<nn::Linear>()->forward(emb));
  return output_->forward(output_act_->forward(h));
}

}  // namespace zoo::diffusion
