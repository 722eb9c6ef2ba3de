#pragma once
// One pass over a parameter's elements for the whole Adam/AdamW update on the CPU, instead
// of LibTorch's eight passes (each a separate kernel over the tensor): the update is bound
// by memory traffic, so reading param, grad and moments once is what makes it cheap.
// Kept free of LibTorch headers: this file is built with its own flags (CMakeLists.txt).
#include <cstdint>

namespace zoo::train {

struct AdamScalars {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  double bias_correction1 = 1, bias_correction2 = 1;  // 1 − βᵗ at this parameter's step t
  bool decoupled = false;                             // AdamW's decay of the weights; else L2 on the gradient
};

// The arrays hold the same elements in the same order; max_exp_avg_sq is null unless AMSGrad.
// Same formulas and order of operations as torch::optim::Adam/AdamW, so the results differ
// from LibTorch's only by the rounding of fused multiply-adds.
void adam_cpu_kernel(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq,
                     int64_t n, const AdamScalars& scalars);
void adam_cpu_kernel(double* param, const double* grad, double* exp_avg, double* exp_avg_sq, double* max_exp_avg_sq,
                     int64_t n, const AdamScalars& scalars);

}  // namespace zoo::train
