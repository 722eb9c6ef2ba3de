#pragma once
// The spatial skeleton of a convolutional network: the layers that move or widen what a
// unit sees (convolutions, pooling, resampling) and the nodes where paths meet (sums,
// products, concatenations), with everything that acts per position (activations,
// normalisation, dropout) left out. Receptive fields are computed on it
// (receptive_field.h); it is read from a JSON spec (layer_spec.h) or a TorchScript graph
// (jit_layer_graph.h), so the analysis has one input format whatever the source.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace zoo::models::analysis {

enum class LayerOp {
  input,          // the image; exactly one, first
  conv,           // convolution (any groups): a window with kernel, stride, padding, dilation
  max_pool,       // a window like conv
  avg_pool,       // a window like conv
  pad,            // explicit padding: a window of kernel 1
  adaptive_pool,  // pooling to a fixed output size (1 = global pooling)
  upsample,       // nearest or bilinear resampling by a scale factor
  merge,          // elementwise sum, difference or product of same-sized (or broadcast) paths
  concat,         // channel concatenation of same-sized paths
};

// One spatial axis of a windowed layer. Padding may differ before and after (asymmetric or
// TensorFlow "same" padding, resolved against the input size when same_padding is set).
struct AxisWindow {
  int64_t kernel = 1, stride = 1, pad_before = 0, pad_after = 0, dilation = 1;
  int64_t effective_kernel() const { return dilation * (kernel - 1) + 1; }
};

struct LayerNode {
  std::string name;
  LayerOp op = LayerOp::input;
  std::vector<int> inputs;                   // indices of earlier nodes
  std::array<AxisWindow, 2> window;          // height, width: conv and pooling
  bool ceil_mode = false;                    // pooling: PyTorch's ceil_mode output size
  bool same_padding = false;                 // padding chosen from the input size as TensorFlow's "SAME"
  std::array<int64_t, 2> output_size{1, 1};  // adaptive_pool
  std::array<double, 2> scale{1, 1};         // upsample
  bool bilinear = false;                     // upsample: interpolates two neighbours per axis
};

// Nodes in topological order; node 0 is the input.
struct LayerGraph {
  std::vector<LayerNode> nodes;

  // Appends a node and returns its index.
  int add(LayerNode node);
  int find(const std::string& name) const;  // -1 if absent
};

const char* op_name(LayerOp op);
// Convolution, pooling and padding: the layers described by a window per axis.
bool windowed(LayerOp op);

}  // namespace zoo::models::analysis
