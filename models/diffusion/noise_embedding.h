#pragma once
// Embeddings of the noise level c_noise for the denoising networks, as in NVlabs/edm:
// positional (DDPM++/ADM: sinusoids at geometrically spaced frequencies) or Fourier
// features (NCSN++: fixed random frequencies, saved with the weights).
#include <torch/torch.h>

#include <string>

namespace zoo::diffusion {

// [B] -> [B, channels]: cos and sin of c_noise·f for channels/2 frequencies f.
class NoiseEmbeddingImpl : public torch::nn::Module {
 public:
  // kind: "positional" (f_k = (1/10000)^(k/(channels/2))) or "fourier" (f ~ 2π·N(0, scale²)).
  NoiseEmbeddingImpl(const std::string& kind, int64_t channels, double fourier_scale = 16);
  torch::Tensor forward(const torch::Tensor& c_noise);

 private:
  torch::Tensor frequencies_;
};
TORCH_MODULE(NoiseEmbedding);

}  // namespace zoo::diffusion
