#pragma once
// Module helpers for code that runs a model outside training (evaluation, analysis).
#include <torch/torch.h>

#include <vector>

namespace zoo::models {

// Puts a module in eval mode for a scope and gives it back its own mode afterwards,
// exceptions included.
class EvalMode {
 public:
  explicit EvalMode(torch::nn::Module& module) : module_(module), was_training_(module.is_training()) { module.eval(); }
  ~EvalMode() { module_.train(was_training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

// A forward pass in eval mode that needs no autograd and is not being traced (a trace records
// ATen operations only): where a layer may overwrite the intermediate tensors it made and run
// outside ATen (models/nn/packed_conv.h).
bool is_inference_pass(const torch::nn::Module& module);

// Zeros of `shape` on the module's device and in its dtype (its first parameter's; the
// CPU and float for a module without parameters): an input to probe it with.
inline torch::Tensor zeros_for(const torch::nn::Module& module, const std::vector<int64_t>& shape) {
  const auto params = module.parameters();
  torch::TensorOptions options;
  if (!params.empty()) options = options.device(params.front().device()).dtype(params.front().scalar_type());
  return torch::zeros(shape, options);
}

}  // namespace zoo::models
