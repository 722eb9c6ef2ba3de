#pragma once
// An MLP over feature columns (data/tabular/feature_columns.h): it takes the encoded rows,
// [B, dense + slots] with the numeric features first and one bucket id per categorical
// slot, turns each id into a one-hot vector (indicator) or a learned vector (embedding),
// concatenates everything, and runs `layers` hidden layers of `hidden` units with the
// activation and dropout of the options. Outputs are class logits or regression values.
// The model knows only the layout of the columns, not the columns: a model never reads data.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/json_fields.h"
#include "models/nn/activations.h"

namespace zoo::models {

struct TabularNetOptions {
  int64_t dense = 0;                    // numeric features
  std::vector<int64_t> buckets;         // per categorical slot
  std::vector<int64_t> embedding_dims;  // per slot; 0 = indicator (one-hot)
  int64_t hidden = 64;
  int64_t layers = 2;
  std::string activation = "relu";
  double dropout = 0.1;
  int64_t outputs = 1;  // classes, or regression targets
};

template <class Visit>
void visit_fields(TabularNetOptions& o, Visit&& field) {
  field("dense", o.dense);
  field("buckets", o.buckets);
  field("embedding_dims", o.embedding_dims);
  field("hidden", o.hidden);
  field("layers", o.layers);
  field("activation", o.activation);
  field("dropout", o.dropout);
  field("outputs", o.outputs);
}

class TabularNetImpl : public torch::nn::Module {
 public:
  explicit TabularNetImpl(const TabularNetOptions& options);
  torch::Tensor forward(const torch::Tensor& rows);
  // The concatenated column features the MLP sees, [B, width].
  torch::Tensor features(const torch::Tensor& rows);
  int64_t feature_width() const { return width_; }
  const TabularNetOptions& options() const { return options_; }

 private:
  TabularNetOptions options_;
  int64_t width_ = 0;
  torch::nn::ModuleList embeddings_{nullptr};  // one per embedding slot, in slot order
  torch::nn::Sequential mlp_{nullptr};
};
TORCH_MODULE(TabularNet);

}  // namespace zoo::models
