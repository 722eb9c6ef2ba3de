#pragma once
// A layer graph written by hand, as JSON: a list of layers applied in order, or a graph
// where a layer names its inputs.
//
//   {"layers": [
//     {"name": "conv1", "type": "conv", "kernel": 7, "stride": 2, "padding": 3},
//     {"name": "pool1", "type": "max_pool", "kernel": 3, "stride": 2, "padding": 1},
//     {"name": "branch", "type": "conv", "kernel": [1, 3], "padding": [[0, 0], [1, 1]], "inputs": ["pool1"]},
//     {"name": "sum", "type": "add", "inputs": ["pool1", "branch"]}]}
//
// A bare list is the same as {"layers": [...]}. Layer fields: name (default: type and
// position), type (conv, max_pool, avg_pool, adaptive_pool, upsample, add, mul, concat),
// inputs (default: the previous layer; "input" is the image); windows take kernel
// (required), stride (conv: 1, pooling: the kernel), padding (a number, [h, w],
// [[top, bottom], [left, right]], "valid" or "same"), dilation and ceil_mode;
// adaptive_pool takes output_size; upsample takes scale and mode (nearest or bilinear).
// Numbers given once apply to both axes.
#include <string>

#include "core/json.h"
#include "models/analysis/layer_graph.h"

namespace zoo::models::analysis {

// zoo::Error(input) naming the layer and the field for anything missing, unknown or wrong.
LayerGraph layer_graph_from_spec(const Json& spec);
LayerGraph read_layer_spec(const std::string& path);

}  // namespace zoo::models::analysis
