#pragma once
// Layer graphs read from TorchScript: a network saved by torch.jit.trace or torch.jit.script
// in Python, or a zoo (C++) module traced here. The graph is inlined and walked node by
// node: convolutions, pooling, adaptive pooling, padding and upsampling become windows;
// sums, products and concatenations of feature maps become meeting points; operations
// that act per position (activations, normalisation, dropout, arithmetic with constants)
// are passed through; flatten, reshape to a vector, spatial means and the linear layers
// after them end the map (their units see the whole input). Control flow whose condition
// is known (self.training, shape checks that raise) takes its branch. Any other operator
// on a feature map is an error naming the operator and the node, never a guess.
//
// Layers are named after their modules: a convolution after its weight
// ("layer1.0.conv1"), other layers after the module they run in plus the operation
// ("layer1.0.add").
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "models/analysis/layer_graph.h"

namespace zoo::models::analysis {

// A TorchScript archive whose forward takes one image batch.
LayerGraph layer_graph_from_torchscript(const std::string& path);

// A C++ module, traced through `forward` on zeros of `input_shape` in eval mode (its mode
// is restored). Windows computed from the input size (TensorFlow "same" padding) are as
// they are for this size.
LayerGraph layer_graph_from_module(torch::nn::Module& module,
                                   const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                                   const std::vector<int64_t>& input_shape);

}  // namespace zoo::models::analysis
