#pragma once
// A 2-D convolution for CPU inference that calls oneDNN (the library under LibTorch's own
// CPU convolutions) directly, so that three costs of going through ATen disappear:
//
//   - the weights are reordered into the blocked layout the kernel wants once, when a shape
//     is first seen, instead of on every call;
//   - SiLU or ReLU runs as a post-op while the output is still in registers, instead of a
//     second pass over memory (a third of EfficientNet-B0's CPU time went to SiLU);
//   - a residual addend is added the same way (oneDNN's binary post-op), instead of a third.
//
// Activations are NHWC (channels-last), as oneDNN's depthwise and 1×1 kernels want them:
// inputs in another layout are converted, outputs are channels-last. (oneDNN's blocked
// nChw8c layout ran B0's largest layers a quarter faster in isolation, but the whole network
// no faster in paired runs, so zoo stays on LibTorch's own NHWC.) Only 4-D float32 or
// bfloat16 CPU tensors take this path (accepts()); callers fall back to ATen otherwise.
// Inference only: no autograd.
//
// It computes in bfloat16 when its input is bfloat16 or CPU autocast (bf16) is on, as ATen's
// convolution does under autocast: bfloat16 activations and weights, float32 accumulation,
// bias and post-ops, a bfloat16 output. That needs a CPU with bfloat16 dot products
// (cpu_has_bf16() in core/autocast.h); elsewhere it refuses.
#include <torch/torch.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace zoo::models {

struct PackedConvOptions {
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, padding) = 0;  // symmetric
  TORCH_ARG(int64_t, dilation) = 1;
  TORCH_ARG(int64_t, groups) = 1;
  // "identity", "silu" or "relu" (what fuses() accepts).
  TORCH_ARG(std::string, activation) = "identity";
};

class PackedConv {
 public:
  // weight [out, in / groups, kh, kw] and bias [out] (any layout; copied as they are now).
  PackedConv(const torch::Tensor& weight, const torch::Tensor& bias, const PackedConvOptions& options);
  ~PackedConv();

  // float32 or bfloat16, CPU and 4-D; nothing in a build without oneDNN (ZOO_WITH_ONEDNN=OFF).
  static bool accepts(const torch::Tensor& input);
  // The activations the convolution applies in its own pass.
  static bool fuses(const std::string& activation);

  // activation(conv(input) + bias) [+ addend]; addend, if given, has the output's shape.
  // The output is channels-last, in the precision computed in.
  torch::Tensor forward(const torch::Tensor& input, const torch::Tensor& addend = {});

 private:
  struct Plan;
  Plan& plan(const torch::Tensor& input, bool with_addend);  // input already in the computing dtype

  torch::Tensor weight_, bias_;
  PackedConvOptions options_;
  std::mutex mutex_;
  // One oneDNN primitive and packed copy of the weights per input shape and dtype (and with
  // or without an addend): a model sees few.
  std::map<std::vector<int64_t>, std::unique_ptr<Plan>> plans_;
};

}  // namespace zoo::models
