#pragma once
// One forward pass of a C++ module recorded as a TorchScript graph: the route by which the
// analysis tools (model_info's costs, receptive_field's layer graph) see any model, whatever
// layers it is made of. Parameters and buffers appear in the graph as constants, named
// here by their state_dict names; every value carries its traced shape.
#include <torch/csrc/jit/ir/ir.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace zoo::models::analysis {

using ForwardFn = std::function<torch::Tensor(const torch::Tensor&)>;

struct ModuleTrace {
  std::shared_ptr<torch::jit::Graph> graph;
  std::unordered_map<const void*, std::string> tensor_names;  // data pointer -> parameter or buffer name
};

// Traces `forward` on zeros of `input_shape` (on the module's device and dtype) in eval mode,
// without gradients; the module's mode is restored.
ModuleTrace trace_module(torch::nn::Module& module, const ForwardFn& forward, const std::vector<int64_t>& input_shape);

// The tensor a graph value holds when it is a constant (a parameter or buffer of a traced
// module), else undefined.
torch::Tensor constant_tensor(const torch::jit::Value* value);
// The traced shape of a tensor value; empty when unknown.
std::vector<int64_t> traced_shape(const torch::jit::Value* value);

}  // namespace zoo::models::analysis
