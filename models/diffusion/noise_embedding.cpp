#include "models/diffusion/noise_embedding.h"

#include <cmath>

#include "core/error.h"

namespace zoo::diffusion {

NoiseEmbeddingImpl::NoiseEmbeddingImpl(const std::string& kind, int64_t channels, double fourier_scale) {
  if (channels < 2 || channels % 2 != 0)
    throw Error("noise embedding: channels must be even and at least 2, got " + std::to_string(channels),
                ErrorKind::usage);
  const int64_t half = channels / 2;
  if (kind == "positional") {
    frequencies_ = torch::pow(1e-4, torch::arange(half, torch::kFloat) / static_cast<double>(half));
  } else if (kind == "fourier") {
    frequencies_ = 2 * M_PI * fourier_scale * torch::randn({half});
  } else {
    throw Error("noise embedding '" + kind + "': expected positional or fourier", ErrorKind::usage);
  }
  // A buffer, not a parameter: Fourier frequencies are fixed at initialisation and must
  // travel with the checkpoint.
  register_buffer("frequencies", frequencies_);
}

torch::Tensor NoiseEmbeddingImpl::forward(const torch::Tensor& c_noise) {
  const torch::Tensor angles = torch::outer(c_noise.to(frequencies_.scalar_type()), frequencies_);
  return torch::cat({angles.cos(), angles.sin()}, 1);
}

}  // namespace zoo::diffusion
