#include "models/analysis/module_trace.h"

#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/ir/constants.h>

#include "models/nn/eval_mode.h"

namespace zoo::models::analysis {

namespace {

// Parameters without requires_grad for the trace (the tracer bakes untracked tensors into
// the graph as constants only when they need no gradient); restored on destruction.
class NoRequiresGrad {
 public:
  explicit NoRequiresGrad(torch::nn::Module& module) {
    for (torch::Tensor& p : module.parameters()) {
      if (!p.requires_grad()) continue;
      p.set_requires_grad(false);
      changed_.push_back(p);
    }
  }
  ~NoRequiresGrad() {
    for (torch::Tensor& p : changed_) p.set_requires_grad(true);
  }
  NoRequiresGrad(const NoRequiresGrad&) = delete;
  NoRequiresGrad& operator=(const NoRequiresGrad&) = delete;

 private:
  std::vector<torch::Tensor> changed_;
};

}  // namespace

ModuleTrace trace_module(torch::nn::Module& module, const ForwardFn& forward, const std::vector<int64_t>& input_shape) {
  ModuleTrace trace;
  for (const auto& p : module.named_parameters()) trace.tensor_names[p.value().data_ptr()] = p.key();
  for (const auto& b : module.named_buffers()) trace.tensor_names.emplace(b.value().data_ptr(), b.key());
  const EvalMode eval(module);
  const NoRequiresGrad frozen(module);
  torch::NoGradGuard no_grad;
  auto traced = torch::jit::tracer::trace(
      {zeros_for(module, input_shape)},
      [&](torch::jit::Stack inputs) { return torch::jit::Stack{forward(inputs.at(0).toTensor())}; },
      [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/false);
  trace.graph = traced.first->graph;
  return trace;
}

torch::Tensor constant_tensor(const torch::jit::Value* value) {
  if (value->node()->kind() != c10::prim::Constant) return {};
  const c10::optional<c10::IValue> constant = torch::jit::toIValue(value);
  return constant && constant->isTensor() ? constant->toTensor() : torch::Tensor();
}

std::vector<int64_t> traced_shape(const torch::jit::Value* value) {
  if (const torch::Tensor t = constant_tensor(value); t.defined()) return t.sizes().vec();
  const auto type = value->type()->cast<c10::TensorType>();
  if (!type) return {};
  const auto sizes = type->sizes().concrete_sizes();
  return sizes ? *sizes : std::vector<int64_t>{};
}

}  // namespace zoo::models::analysis
