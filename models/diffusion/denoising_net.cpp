#include "models/diffusion/denoising_net.h"

#include "core/error.h"

namespace zoo::diffusion {

Network as_network(const std::shared_ptr<DenoisingNetImpl>& net) {
  return [net](const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels) {
    return net->forward(x, c_noise, labels);
  };
}

ClassEmbeddingImpl::ClassEmbeddingImpl(int64_t num_classes, int64_t channels, double label_dropout)
    : num_classes_(num_classes), label_dropout_(label_dropout) {
  if (label_dropout < 0 || label_dropout >= 1)
    throw Error("label_dropout must be in [0, 1), got " + std::to_string(label_dropout), ErrorKind::usage);
  embedding_ = register_module("embedding", torch::nn::Embedding(num_classes + 1, channels));
}

torch::Tensor ClassEmbeddingImpl::forward(const torch::Tensor& labels, int64_t batch, const torch::Device& device) {
  const torch::Tensor none = torch::full({batch}, num_classes_, torch::TensorOptions(torch::kLong).device(device));
  if (!labels.defined()) return embedding_->forward(none);
  if (labels.numel() != batch)
    throw Error("class labels: expected " + std::to_string(batch) + ", got " + std::to_string(labels.numel()));
  torch::Tensor tokens = labels.to(device, torch::kLong);
  if ((tokens >= num_classes_).any().item<bool>())
    throw Error("class label out of range for a model of " + std::to_string(num_classes_) + " classes",
                ErrorKind::input);
  tokens = torch::where(tokens < 0, none, tokens);
  if (is_training() && label_dropout_ > 0)
    tokens = torch::where(torch::rand({batch}, device) < label_dropout_, none, tokens);
  return embedding_->forward(tokens);
}

}  // namespace zoo::diffusion
