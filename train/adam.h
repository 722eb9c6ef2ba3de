#pragma once
// Adam and AdamW that can update every parameter at once with multi-tensor ("foreach")
// kernels, as PyTorch does by default on CUDA. LibTorch's own optimizers launch about
// eight kernels per parameter tensor; at the batch sizes of a small model on a GPU those
// launches, not the arithmetic, set the step time. These are torch::optim::Adam and AdamW
// with the same options, per-parameter state and checkpoints, and the update is the same
// sequence of operations on lists of tensors, so the CPU gives identical results either way.
//
// foreach: unset = only when every parameter is on CUDA (PyTorch's default), true, false.
// AMSGrad and sparse gradients always take LibTorch's per-tensor update.
#include <torch/torch.h>

#include <optional>
#include <vector>

namespace zoo::train {

template <typename Base, typename Options>
class MultiTensor : public Base {
 public:
  MultiTensor(std::vector<torch::Tensor> parameters, Options options, std::optional<bool> foreach = std::nullopt);
  torch::Tensor step(typename Base::LossClosure closure = nullptr) override;

 private:
  std::optional<bool> foreach_;
};

using Adam = MultiTensor<torch::optim::Adam, torch::optim::AdamOptions>;
using AdamW = MultiTensor<torch::optim::AdamW, torch::optim::AdamWOptions>;

}  // namespace zoo::train
