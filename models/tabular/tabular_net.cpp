#include "models/tabular/tabular_net.h"

#include "core/error.h"
#include "core/limits.h"

namespace zoo::models {

TabularNetImpl::TabularNetImpl(const TabularNetOptions& o) : options_(o) {
  if (o.dense < 0 || o.hidden < 1 || o.layers < 0 || o.outputs < 1 || !(o.dropout >= 0 && o.dropout < 1) ||
      o.buckets.size() != o.embedding_dims.size())
    throw Error(
        "tabular net config: hidden and outputs must be positive, dropout in [0, 1), one embedding_dims entry per "
        "bucket slot",
        ErrorKind::usage);
  // Sizes from flags or a checkpoint, before layers that large are built, in double so
  // that nothing overflows before it is caught.
  check_limit("tabular net config: hidden", static_cast<double>(o.hidden), kMaxChannels, ErrorKind::usage);
  check_limit("tabular net config: layers", static_cast<double>(o.layers), kMaxBlocks, ErrorKind::usage);
  check_limit("tabular net config: outputs", static_cast<double>(o.outputs), kMaxClasses, ErrorKind::usage);
  double width = static_cast<double>(o.dense), weights = 0;
  for (size_t s = 0; s < o.buckets.size(); ++s) {
    const double buckets = static_cast<double>(o.buckets[s]), dims = static_cast<double>(o.embedding_dims[s]);
    width += dims > 0 ? dims : buckets;
    weights += buckets * dims;
  }
  check_limit("tabular net config: the input width", width, kMaxFeatureWidth, ErrorKind::usage);
  const double hidden = static_cast<double>(o.hidden), layers = static_cast<double>(o.layers);
  weights += layers > 0 ? width * hidden + (layers - 1) * hidden * hidden + hidden * o.outputs : width * o.outputs;
  check_limit("tabular net config: the weights it needs", weights, kMaxParameters, ErrorKind::usage);
  width_ = o.dense;
  embeddings_ = register_module("embeddings", torch::nn::ModuleList());
  for (size_t s = 0; s < o.buckets.size(); ++s) {
    if (o.buckets[s] < 1 || o.embedding_dims[s] < 0)
      throw Error("tabular net config: slot " + std::to_string(s) + " needs at least one bucket", ErrorKind::usage);
    if (o.embedding_dims[s] > 0) embeddings_->push_back(torch::nn::Embedding(o.buckets[s], o.embedding_dims[s]));
    width_ += o.embedding_dims[s] > 0 ? o.embedding_dims[s] : o.buckets[s];
  }
  if (width_ < 1) throw Error("tabular net config: no input features", ErrorKind::usage);
  mlp_ = register_module("mlp", torch::nn::Sequential());
  int64_t in = width_;
  for (int64_t l = 0; l < o.layers; ++l) {
    mlp_->push_back(torch::nn::Linear(in, o.hidden));
    mlp_->push_back(Activation(o.activation, o.hidden));
    mlp_->push_back(torch::nn::Dropout(o.dropout));
    in = o.hidden;
  }
  mlp_->push_back(torch::nn::Linear(in, o.outputs));
}

torch::Tensor TabularNetImpl::features(const torch::Tensor& rows) {
  const int64_t slots = static_cast<int64_t>(options_.buckets.size());
  if (rows.dim() != 2 || rows.size(1) != options_.dense + slots)
    throw Error(
        "tabular net: expected rows [B, " + std::to_string(options_.dense + slots) + "], got " + c10::str(rows.sizes()),
        ErrorKind::input);
  std::vector<torch::Tensor> parts;
  if (options_.dense > 0) parts.push_back(rows.narrow(1, 0, options_.dense));
  size_t embedding = 0;
  for (int64_t s = 0; s < slots; ++s) {
    const torch::Tensor ids = rows.select(1, options_.dense + s).round().to(torch::kLong);
    // id −1 means "no bucket": all zeros, as TensorFlow's indicator and embedding columns give.
    const torch::Tensor present = ids.ge(0).unsqueeze(1).to(rows.scalar_type());
    const torch::Tensor safe = ids.clamp(0, options_.buckets[static_cast<size_t>(s)] - 1);
    if (options_.embedding_dims[static_cast<size_t>(s)] > 0)
      parts.push_back(embeddings_[embedding++]->as<torch::nn::Embedding>()->forward(safe) * present);
    else
      parts.push_back(torch::one_hot(safe, options_.buckets[static_cast<size_t>(s)]).to(rows.scalar_type()) * present);
  }
  return torch::cat(parts, 1);
}

torch::Tensor TabularNetImpl::forward(const torch::Tensor& rows) { return mlp_->forward(features(rows)); }

}  // namespace zoo::models
