#pragma once
// Adam and AdamW with faster updates than LibTorch's, which launches about eight kernels per
// parameter tensor: on a GPU those launches, not the arithmetic, set a small model's step
// time, and on the CPU the eight passes over memory do. These are torch::optim::Adam and
// AdamW with the same options, per-parameter state and checkpoints; only the update differs:
//   per_tensor  LibTorch's own
//   foreach     the same sequence of operations on lists of tensors (multi-tensor kernels),
//               PyTorch's default on CUDA; identical results
//   fused       one pass over each parameter's elements on the CPU (train/adam_cpu_kernel.h),
//               as PyTorch's fused=True; equal up to the rounding of fused multiply-adds
// Unset, the kernel is fused when every parameter is a dense float or double CPU tensor,
// foreach when every one is on CUDA, and LibTorch's otherwise. Sparse gradients always take
// LibTorch's update, and so does AMSGrad unless fused.
#include <torch/torch.h>

#include <optional>
#include <vector>

namespace zoo::train {

enum class AdamKernel { per_tensor, foreach, fused };

template <typename Base, typename Options>
class AdamFamily : public Base {
 public:
  AdamFamily(std::vector<torch::Tensor> parameters, Options options, std::optional<AdamKernel> kernel = std::nullopt);
  torch::Tensor step(typename Base::LossClosure closure = nullptr) override;
  // The kernel the last step ran (per_tensor before the first step).
  AdamKernel last_kernel() const { return last_kernel_; }

 private:
  std::optional<AdamKernel> kernel_;
  AdamKernel last_kernel_ = AdamKernel::per_tensor;
};

using Adam = AdamFamily<torch::optim::Adam, torch::optim::AdamOptions>;
using AdamW = AdamFamily<torch::optim::AdamW, torch::optim::AdamWOptions>;

}  // namespace zoo::train
