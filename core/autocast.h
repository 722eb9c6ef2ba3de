#pragma once
// Mixed precision for training on CUDA: LibTorch's autocast with bfloat16, which keeps
// float32's exponent range and so needs no loss scaling (C++ has no GradScaler). Weights,
// optimizer state and the loss stay float32; matmuls and convolutions run in bfloat16.
#include <torch/torch.h>

#include <string>

#include "core/json.h"

namespace zoo {

// --precision auto|fp32|bf16 for a run on `device`: auto is bf16 on CUDA and fp32 on the
// CPU (where autocast is slower than float32). bf16 on the CPU is a usage error.
bool autocast_for(const std::string& precision, const torch::Device& device);

// Autocast on CUDA for the guard's lifetime when `enabled`; restores the previous state.
class AutocastGuard {
 public:
  explicit AutocastGuard(bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_, previous_ = false;
};

}  // namespace zoo
