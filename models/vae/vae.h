#pragma once
// A variational autoencoder (Kingma & Welling 2014) for binary images with one of two
// latent spaces, so the two reparameterisations of models/nn/reparam.h can be compared on
// the same data:
//   gaussian     z ~ N(μ, σ²) of `latent_dim` dimensions, prior N(0, I), z = μ + σ·ε
//   categorical  `variables` one-hot variables of `categories` classes each, prior uniform;
//                trained through the Gumbel-softmax relaxation at temperature τ (Jang et
//                al. 2017), evaluated with exact one-hot samples so the reported ELBO is a
//                true bound on log p(x)
// Encoder and decoder are MLPs (`layers` × `hidden`, the options' activation); the decoder
// gives Bernoulli logits per pixel. ELBO = E_q[log p(x | z)] − KL(q(z | x) ‖ p(z)), in nats.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/json_fields.h"

namespace zoo::models {

struct VaeOptions {
  std::vector<int64_t> shape = {1, 28, 28};  // of one example
  std::string latent = "gaussian";           // gaussian or categorical
  int64_t latent_dim = 32;                   // gaussian
  int64_t variables = 30;                    // categorical: one-hot variables …
  int64_t categories = 10;                   // … of this many classes (Jang et al.'s 30 × 10)
  int64_t hidden = 512;
  int64_t layers = 2;
  std::string activation = "relu";
};

template <class Visit>
void visit_fields(VaeOptions& o, Visit&& field) {
  field("shape", o.shape);
  field("latent", o.latent);
  field("latent_dim", o.latent_dim);
  field("variables", o.variables);
  field("categories", o.categories);
  field("hidden", o.hidden);
  field("layers", o.layers);
  field("activation", o.activation);
}

// Per example [B], in nats.
struct ElboTerms {
  torch::Tensor reconstruction;  // log p(x | z) at one z ~ q(z | x)
  torch::Tensor kl;              // KL(q(z | x) ‖ p(z)), exact
  torch::Tensor elbo() const { return reconstruction - kl; }
};

class VaeImpl : public torch::nn::Module {
 public:
  explicit VaeImpl(const VaeOptions& options);

  // x: binary images [B, ...shape]. relaxed: the Gumbel-softmax sample at `temperature`
  // (training); otherwise an exact one-hot sample (evaluation). Gaussian latents ignore both.
  // noise: the latent's standard draws — ε ~ N(0, I) [B, latent_dim] (Gaussian) or uniforms
  // in [0, 1) [B, variables, categories] for the Gumbel noise — or undefined to draw them
  // from the default generator.
  ElboTerms elbo(const torch::Tensor& x, double temperature = 1.0, bool relaxed = true,
                 const torch::Tensor& noise = {});
  // The `noise` elbo() takes for the examples `indices` [B], each from (seed, its index)
  // alone (core/seed.h): the same draw in any batch and on any rank.
  torch::Tensor indexed_noise(uint64_t seed, const torch::Tensor& indices) const;
  // Bernoulli means of p(x | z) at the posterior's mean (Gaussian) or mode (categorical).
  torch::Tensor reconstruct(const torch::Tensor& x);
  // Bernoulli means of p(x | z) for n draws z ~ p(z), from the default generator.
  torch::Tensor sample(int64_t n);
  const VaeOptions& options() const { return options_; }

 private:
  torch::Tensor decode_logits(const torch::Tensor& z);  // z [B, latent width] → logits [B, ...shape]
  int64_t latent_width() const;

  VaeOptions options_;
  int64_t pixels_ = 0;
  torch::nn::Sequential encoder_{nullptr}, decoder_{nullptr};
};
TORCH_MODULE(Vae);

}  // namespace zoo::models
