#pragma once
// Mixed precision: LibTorch's autocast with bfloat16, which keeps float32's exponent range
// and so needs no loss scaling (C++ has no GradScaler). Weights, optimizer state and the
// loss stay float32; matmuls and convolutions run in bfloat16. Training uses it on CUDA;
// inference also on CPUs with bfloat16 arithmetic, where zoo's own oneDNN convolutions
// (models/nn/packed_conv.h) follow it as ATen's do.
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/torch.h>

#include <string>

#include "core/json.h"

namespace zoo {

// --precision auto|fp32|bf16 for a training run on `device`: auto is bf16 on CUDA and fp32
// on the CPU (where autocast trains slower than float32). bf16 on the CPU is a usage error.
bool autocast_for(const std::string& precision, const torch::Device& device);

// --precision fp32|bf16 for inference on `device`: bf16 on CUDA, or on a CPU with
// AVX512-BF16 (a usage error on one without: oneDNN would emulate it, slower than float32).
bool inference_autocast_for(const std::string& precision, const torch::Device& device);

// Whether this CPU has bfloat16 dot products (AVX512-BF16 or AMX), as oneDNN sees it (false
// in a build without oneDNN).
bool cpu_has_bf16();

// CPU autocast off for the guard's lifetime, for small products whose inputs are cast to
// float32 first: there autocast's casts of the weights (on every call for views of them, and
// ATen's own conversions inside bfloat16 addmm) cost more than the products themselves.
class CpuAutocastOff {
 private:
  c10::impl::ExcludeDispatchKeyGuard guard_{c10::DispatchKey::AutocastCPU};
};

// Autocast on `device` (CUDA or CPU) for the guard's lifetime when `enabled`; restores the
// previous state.
class AutocastGuard {
 public:
  explicit AutocastGuard(bool enabled, c10::DeviceType device = c10::kCUDA);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_, previous_ = false;
  c10::DeviceType device_;
};

}  // namespace zoo
