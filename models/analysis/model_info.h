#pragma once
// A per-layer report of a model on one input shape: each convolution, linear layer, matrix
// product, normalisation and embedding it runs, in order, with its output shape, its
// parameters and its multiply-adds, and the totals. MACs count convolutions
// (k_h·k_w·(C_in/groups)·C_out·H_out·W_out), linear layers and matrix products (in·out per
// output row) per example, as the EfficientNet paper counts "FLOPs".
//
// The layers are read from one traced forward pass (module_trace.h: eval mode, no grad), so
// the report holds for any model, any input size and any layer it is built from, with no
// second description of the network to keep in sync.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "core/json.h"
#include "models/analysis/module_trace.h"

namespace zoo::models::analysis {

struct LayerInfo {
  std::string name;  // the state_dict prefix: "features.1.0.block.0.0"
  std::string type;  // "Conv2d", "BatchNorm2d", "Linear"
  std::vector<int64_t> output_shape;
  int64_t params = 0;  // the layer's own parameters
  int64_t macs = 0;
};

struct ModelInfo {
  std::vector<int64_t> input_shape;
  std::vector<LayerInfo> layers;
  int64_t total_params = 0;  // every parameter of the model, recorded layers or not
  int64_t total_macs = 0;
};

// Traces forward on zeros of `input_shape` (on the model's device) and collects the layers.
// The model's train/eval mode is restored afterwards.
ModelInfo model_info(torch::nn::Module& model, const ForwardFn& forward, const std::vector<int64_t>& input_shape);

Json to_json(const ModelInfo& info);
// A text table, one row per layer, then the totals (parameters, MACs in billions).
std::string format_table(const ModelInfo& info);

}  // namespace zoo::models::analysis
