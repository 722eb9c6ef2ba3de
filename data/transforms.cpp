#include "data/transforms.h"

#include <cmath>

#include "core/error.h"

namespace zoo::data {

namespace {
void require_image(const torch::Tensor& x, const char* transform) {
  if (x.dim() != 3) throw Error(std::string(transform) + ": expects an image [C, H, W], got " + c10::str(x.sizes()));
}
}  // namespace

torch::Tensor Compose::operator()(const torch::Tensor& x, SampleRng& rng) const {
  torch::Tensor y = x;
  for (const auto& transform : transforms_) y = (*transform)(y, rng);
  return y;
}

Normalize::Normalize(std::vector<double> mean, std::vector<double> std) {
  if (mean.empty() || mean.size() != std.size())
    throw Error("normalize: mean and std need the same, non-zero number of values", ErrorKind::usage);
  for (double s : std)
    if (!(s > 0)) throw Error("normalize: std values must be positive", ErrorKind::usage);
  mean_ = torch::tensor(mean, torch::kFloat);
  std_ = torch::tensor(std, torch::kFloat);
}

torch::Tensor Normalize::operator()(const torch::Tensor& x, SampleRng&) const {
  if (x.dim() == 3 && mean_.numel() > 1) {
    if (mean_.numel() != x.size(0))
      throw Error("normalize: " + std::to_string(mean_.numel()) + " channel values for an image with " +
                  std::to_string(x.size(0)) + " channels");
    return (x - mean_.view({-1, 1, 1})) / std_.view({-1, 1, 1});
  }
  return (x - mean_) / std_;
}

torch::Tensor PadCrop::operator()(const torch::Tensor& x, SampleRng& rng) const {
  require_image(x, "pad-crop");
  const int64_t h = x.size(1), w = x.size(2);
  const torch::Tensor padded = torch::constant_pad_nd(x, {padding_, padding_, padding_, padding_}, 0);
  const int64_t top = rng.randint(2 * padding_ + 1), left = rng.randint(2 * padding_ + 1);
  return padded.slice(1, top, top + h).slice(2, left, left + w).contiguous();
}

torch::Tensor HorizontalFlip::operator()(const torch::Tensor& x, SampleRng& rng) const {
  require_image(x, "flip");
  return rng.bernoulli(p_) ? x.flip({2}) : x;
}

RandomErasing::RandomErasing(RandomErasingOptions options) : options_(options) {
  const auto& o = options_;
  if (!(o.p >= 0 && o.p <= 1)) throw Error("random erasing: p must lie in [0, 1]", ErrorKind::usage);
  if (!(o.scale_min > 0 && o.scale_min <= o.scale_max && o.scale_max <= 1))
    throw Error("random erasing: the area fractions need 0 < scale_min <= scale_max <= 1", ErrorKind::usage);
  if (!(o.ratio_min > 0 && o.ratio_min <= o.ratio_max))
    throw Error("random erasing: the aspect ratios need 0 < ratio_min <= ratio_max", ErrorKind::usage);
}

torch::Tensor RandomErasing::operator()(const torch::Tensor& x, SampleRng& rng) const {
  require_image(x, "random erasing");
  if (!rng.bernoulli(options_.p)) return x;
  const int64_t height = x.size(1), width = x.size(2);
  const double area = static_cast<double>(height * width);
  const double log_min = std::log(options_.ratio_min), log_max = std::log(options_.ratio_max);
  auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * rng.uniform(); };
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double erased = area * uniform(options_.scale_min, options_.scale_max);
    const double aspect = std::exp(uniform(log_min, log_max));
    // Python's round (half to even), as torchvision computes the sides.
    const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(erased * aspect)));
    const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(erased / aspect)));
    if (!(h < height && w < width)) continue;
    const int64_t top = rng.randint(height - h + 1), left = rng.randint(width - w + 1);
    torch::Tensor y = x.clone();
    y.slice(1, top, top + h).slice(2, left, left + w).fill_(options_.value);
    return y;
  }
  return x;
}

torch::Tensor Resize::operator()(const torch::Tensor& x, SampleRng&) const {
  require_image(x, "resize");
  if (x.size(1) == size_ && x.size(2) == size_) return x;
  namespace F = torch::nn::functional;
  const bool shrinking = x.size(1) > size_ || x.size(2) > size_;
  auto options = F::InterpolateFuncOptions()
                     .size(std::vector<int64_t>{size_, size_})
                     .mode(torch::kBilinear)
                     .align_corners(false)
                     .antialias(shrinking);
  return F::interpolate(x.unsqueeze(0), options).squeeze(0);
}

torch::Tensor ScaleSymmetric::operator()(const torch::Tensor& x, SampleRng&) const { return x * 2 - 1; }

torch::Tensor dequantize(const torch::Tensor& x, const torch::Tensor& noise, int64_t levels) {
  return (torch::round(x * static_cast<double>(levels - 1)) + noise) / static_cast<double>(levels);
}

torch::Tensor logit(const torch::Tensor& x, double alpha) {
  const torch::Tensor p = alpha + (1 - 2 * alpha) * x;
  return torch::log(p) - torch::log1p(-p);
}

torch::Tensor Dequantize::operator()(const torch::Tensor& x, SampleRng& rng) const {
  return dequantize(x, rng.rand(x.sizes()), levels_);
}

torch::Tensor Logit::operator()(const torch::Tensor& x, SampleRng&) const { return logit(x, alpha_); }

torch::Tensor logit_log_det(const torch::Tensor& x, double alpha) {
  // dy/dx = (1 - 2 alpha) / (p (1 - p)) with p = alpha + (1 - 2 alpha) x.
  const torch::Tensor p = alpha + (1 - 2 * alpha) * x;
  const torch::Tensor per_element = std::log(1 - 2 * alpha) - torch::log(p) - torch::log1p(-p);
  return per_element.flatten(1).sum(1);
}

}  // namespace zoo::data
