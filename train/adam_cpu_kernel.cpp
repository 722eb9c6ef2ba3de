#include "train/adam_cpu_kernel.h"

#include <algorithm>
#include <cmath>

// A second copy of the loop for x86-64-v3 (AVX2, FMA), picked at load time on CPUs that
// have it; the baseline copy runs anywhere. sqrt and division dominate the arithmetic.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ZOO_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ZOO_CPU_CLONES
#endif

namespace zoo::train {

namespace {

template <typename T>
__attribute__((always_inline)) inline void update(T* __restrict param, const T* __restrict grad, T* __restrict exp_avg,
                                                  T* __restrict exp_avg_sq, T* __restrict max_exp_avg_sq, int64_t n,
                                                  const AdamScalars& s) {
  const T shrink = static_cast<T>(s.decoupled ? 1 - s.lr * s.weight_decay : 1);
  const T l2 = static_cast<T>(s.decoupled ? 0 : s.weight_decay);
  const T beta1 = static_cast<T>(s.beta1), beta2 = static_cast<T>(s.beta2);
  const T rest1 = static_cast<T>(1 - s.beta1), rest2 = static_cast<T>(1 - s.beta2);
  const T root_bc2 = static_cast<T>(std::sqrt(s.bias_correction2)), eps = static_cast<T>(s.eps);
  const T step_size = static_cast<T>(s.lr / s.bias_correction1);
  for (int64_t i = 0; i < n; ++i) {
    const T w = param[i] * shrink;
    const T g = l2 != 0 ? grad[i] + l2 * w : grad[i];
    const T m = exp_avg[i] * beta1 + rest1 * g;
    const T v = exp_avg_sq[i] * beta2 + rest2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    T second = v;
    if (max_exp_avg_sq) second = max_exp_avg_sq[i] = std::max(max_exp_avg_sq[i], v);
    param[i] = w - step_size * (m / (std::sqrt(second) / root_bc2 + eps));
  }
}

}  // namespace

ZOO_CPU_CLONES void adam_cpu_kernel(float* param, const float* grad, float* exp_avg, float* exp_avg_sq,
                                    float* max_exp_avg_sq, int64_t n, const AdamScalars& scalars) {
  update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, scalars);
}

ZOO_CPU_CLONES void adam_cpu_kernel(double* param, const double* grad, double* exp_avg, double* exp_avg_sq,
                                    double* max_exp_avg_sq, int64_t n, const AdamScalars& scalars) {
  update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n, scalars);
}

}  // namespace zoo::train
