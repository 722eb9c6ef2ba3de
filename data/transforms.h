#pragma once
// Per-example transforms. Each takes one example's input and that example's private
// random source, so an augmentation depends on (seed, epoch, example) only: the same
// under any batch size or number of loader workers.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/seed.h"

namespace zoo::data {

class Transform {
 public:
  virtual ~Transform() = default;
  virtual torch::Tensor operator()(const torch::Tensor& x, SampleRng& rng) const = 0;
};
using TransformPtr = std::shared_ptr<const Transform>;

// Applies transforms in order.
class Compose : public Transform {
 public:
  explicit Compose(std::vector<TransformPtr> transforms) : transforms_(std::move(transforms)) {}
  torch::Tensor operator()(const torch::Tensor& x, SampleRng& rng) const override;

 private:
  std::vector<TransformPtr> transforms_;
};

// (x - mean[c]) / std[c] per channel; one value broadcasts to all channels.
class Normalize : public Transform {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std);
  torch::Tensor operator()(const torch::Tensor& x, SampleRng& rng) const override;

 private:
  torch::Tensor mean_, std_;
};

// Zero-pads an image by `padding` on every side, then crops back to its size at a random
// offset (the CIFAR augmentation).
class PadCrop : public Transform {
 public:
  explicit PadCrop(int64_t padding) : padding_(padding) {}
  torch::Tensor operator()(const torch::Tensor& x, SampleRng& rng) const override;

 private:
  int64_t padding_;
};

// Mirrors an image left-right with probability p.
class HorizontalFlip : public Transform {
 public:
  explicit HorizontalFlip(double p = 0.5) : p_(p) {}
  torch::Tensor operator()(const torch::Tensor& x, SampleRng& rng) const override;

 private:
  double p_;
};

// Random erasing (Zhong et al. 2017), as torchvision's RandomErasing: with probability p,
// one rectangle whose area is a uniform fraction in [scale_min, scale_max] of the image and
// whose aspect ratio is log-uniform in [ratio_min, ratio_max] is set to `value` in every
// channel. Ten tries find a rectangle that fits; if none does the image is left as it is.
// Applied after normalising, value 0 is the data's mean.
struct RandomErasingOptions {
  double p = 0.5;
  double scale_min = 0.02, scale_max = 0.33;
  double ratio_min = 0.3, ratio_max = 3.3;
  double value = 0;
};

class RandomErasing : public Transform {
 public:
  explicit RandomErasing(RandomErasingOptions options = {});
  torch::Tensor operator()(const torch::Tensor& x, SampleRng& rng) const override;

 private:
  RandomErasingOptions options_;
};

// Bilinear resize of an image to size x size (antialiased when shrinking, like torchvision).
class Resize : public Transform {
 public:
  explicit Resize(int64_t size) : size_(size) {}
  torch::Tensor operator()(const torch::Tensor& x, SampleRng& rng) const override;

 private:
  int64_t size_;
};

// [0, 1] -> [-1, 1], the range diffusion models are trained in.
class ScaleSymmetric : public Transform {
 public:
  torch::Tensor operator()(const torch::Tensor& x, SampleRng& rng) const override;
};

// Uniform dequantisation of 8-bit data: a value k/255 becomes (k + u)/256, u ~ U[0, 1),
// so a continuous density model sees no point masses (flows' bits/dim assume it).
class Dequantize : public Transform {
 public:
  explicit Dequantize(int64_t levels = 256) : levels_(levels) {}
  torch::Tensor operator()(const torch::Tensor& x, SampleRng& rng) const override;

 private:
  int64_t levels_;
};

// RealNVP's logit transform y = logit(alpha + (1 - 2 alpha) x): maps (0, 1) to the real
// line, keeping away from the infinite ends. log|dy/dx| is in logit_log_det().
class Logit : public Transform {
 public:
  explicit Logit(double alpha = 0.05) : alpha_(alpha) {}
  torch::Tensor operator()(const torch::Tensor& x, SampleRng& rng) const override;
  double alpha() const { return alpha_; }

 private:
  double alpha_;
};

// What the transforms above compute, for code that holds the noise itself (a flow's
// deterministic test-time dequantisation): (round(x·(levels − 1)) + noise)/levels, and
// logit(alpha + (1 − 2 alpha) x).
torch::Tensor dequantize(const torch::Tensor& x, const torch::Tensor& noise, int64_t levels = 256);
torch::Tensor logit(const torch::Tensor& x, double alpha);

// Sum over each example's elements of log|dy/dx| for Logit, given its input x in (0, 1).
torch::Tensor logit_log_det(const torch::Tensor& x, double alpha);

}  // namespace zoo::data
