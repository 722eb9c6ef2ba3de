#include "models/vae/vae.h"

#include <cmath>

#include "core/error.h"
#include "core/seed.h"
#include "models/nn/activations.h"
#include "models/nn/reparam.h"

namespace zoo::models {
namespace {

torch::nn::Sequential mlp(int64_t in, int64_t hidden, int64_t layers, int64_t out, const std::string& activation) {
  torch::nn::Sequential net;
  for (int64_t l = 0; l < layers; ++l) {
    net->push_back(torch::nn::Linear(l == 0 ? in : hidden, hidden));
    net->push_back(Activation(activation, hidden));
  }
  net->push_back(torch::nn::Linear(layers > 0 ? hidden : in, out));
  return net;
}

}  // namespace

VaeImpl::VaeImpl(const VaeOptions& o) : options_(o) {
  if (o.latent != "gaussian" && o.latent != "categorical")
    throw Error("vae: latent " + o.latent + ": expected gaussian or categorical", ErrorKind::usage);
  if (o.shape.empty() || o.latent_dim < 1 || o.variables < 1 || o.categories < 2 || o.hidden < 1 || o.layers < 1)
    throw Error("vae config: shape, latent_dim, variables, hidden and layers must be positive, categories at least 2",
                ErrorKind::usage);
  pixels_ = 1;
  for (int64_t d : o.shape) pixels_ *= d;
  const int64_t encoded = o.latent == "gaussian" ? 2 * o.latent_dim : o.variables * o.categories;
  encoder_ = register_module("encoder", mlp(pixels_, o.hidden, o.layers, encoded, o.activation));
  decoder_ = register_module("decoder", mlp(latent_width(), o.hidden, o.layers, pixels_, o.activation));
}

int64_t VaeImpl::latent_width() const {
  return options_.latent == "gaussian" ? options_.latent_dim : options_.variables * options_.categories;
}

torch::Tensor VaeImpl::indexed_noise(uint64_t seed, const torch::Tensor& indices) const {
  const torch::Device device = parameters().front().device();
  if (options_.latent == "gaussian") return indexed_randn({options_.latent_dim}, seed, Stream::latent, indices, device);
  return indexed_rand({options_.variables, options_.categories}, seed, Stream::latent, indices, device);
}

torch::Tensor VaeImpl::decode_logits(const torch::Tensor& z) {
  std::vector<int64_t> shape = {z.size(0)};
  shape.insert(shape.end(), options_.shape.begin(), options_.shape.end());
  return decoder_->forward(z.reshape({z.size(0), latent_width()})).reshape(shape);
}

ElboTerms VaeImpl::elbo(const torch::Tensor& x, double temperature, bool relaxed, const torch::Tensor& noise) {
  if (x.dim() != static_cast<int64_t>(options_.shape.size()) + 1 || x.numel() != x.size(0) * pixels_)
    throw Error(
        "vae: expected inputs [B, " + c10::str(c10::IntArrayRef(options_.shape)) + "], got " + c10::str(x.sizes()),
        ErrorKind::input);
  const torch::Tensor h = encoder_->forward(x.reshape({x.size(0), pixels_}));
  torch::Tensor z, kl;
  if (options_.latent == "gaussian") {
    const auto parts = h.chunk(2, 1);
    z = gaussian_reparameterize(parts[0], parts[1], noise.defined() ? noise.to(parts[0].scalar_type()) : noise);
    kl = gaussian_kl(parts[0], parts[1]);
  } else {
    const torch::Tensor logits = h.reshape({x.size(0), options_.variables, options_.categories});
    const torch::Tensor log_q = torch::log_softmax(logits, -1);
    // KL(q ‖ uniform) = Σ_v Σ_k q·log q + V·log K.
    kl = (log_q.exp() * log_q).sum({1, 2}) + static_cast<double>(options_.variables) * std::log(options_.categories);
    const torch::Tensor gumbel = noise.defined() ? gumbel_noise_from_uniform(noise.to(logits.scalar_type())) : noise;
    z = relaxed ? gumbel_softmax(logits, temperature, false, gumbel)
                : torch::one_hot(gumbel_max(logits, gumbel), options_.categories).to(logits.scalar_type());
  }
  const torch::Tensor reconstruction =
      -torch::binary_cross_entropy_with_logits(decode_logits(z), x, {}, {}, at::Reduction::None)
           .reshape({x.size(0), -1})
           .sum(1);
  return {reconstruction, kl};
}

torch::Tensor VaeImpl::reconstruct(const torch::Tensor& x) {
  const torch::Tensor h = encoder_->forward(x.reshape({x.size(0), pixels_}));
  torch::Tensor z;
  if (options_.latent == "gaussian") {
    z = h.chunk(2, 1)[0];
  } else {
    const torch::Tensor logits = h.reshape({x.size(0), options_.variables, options_.categories});
    z = torch::one_hot(logits.argmax(-1), options_.categories).to(h.scalar_type());
  }
  return torch::sigmoid(decode_logits(z));
}

torch::Tensor VaeImpl::sample(int64_t n) {
  const auto options = encoder_->parameters()[0].options();
  torch::Tensor z;
  if (options_.latent == "gaussian") {
    z = torch::randn({n, options_.latent_dim}, options);
  } else {
    const torch::Tensor classes =
        torch::randint(options_.categories, {n, options_.variables}, options.dtype(torch::kLong));
    z = torch::one_hot(classes, options_.categories).to(options.dtype());
  }
  return torch::sigmoid(decode_logits(z));
}

}  // namespace zoo::models
