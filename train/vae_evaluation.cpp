#include "train/vae_evaluation.h"

#include "core/seed.h"
#include "models/nn/eval_mode.h"

namespace zoo::train {

torch::Tensor fixed_binarization(const data::Dataset& dataset, uint64_t seed) {
  at::Generator generator =
      at::detail::createCPUGenerator(derive_seed(seed, static_cast<uint64_t>(Stream::dequantize), 0));
  return torch::bernoulli(data::stack_inputs(dataset), generator);
}

VaeEvaluation evaluate_vae(models::Vae& vae, const torch::Tensor& binary_images, uint64_t seed, Distributed& group,
                           int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const models::EvalMode eval(*vae);
  const torch::Device device = vae->parameters().front().device();
  const uint64_t noise_seed = derive_seed(seed, static_cast<uint64_t>(Stream::latent), 1);
  const int64_t n = binary_images.size(0);
  const auto [first, last] = group.share(n);
  torch::Tensor sums = torch::zeros({2}, torch::kDouble);  // reconstruction, KL
  for (int64_t begin = first; begin < last; begin += batch_size) {
    const int64_t end = std::min(last, begin + batch_size);
    const torch::Tensor x = binary_images.slice(0, begin, end).to(device);
    const torch::Tensor noise = vae->indexed_noise(noise_seed, torch::arange(begin, end, torch::kLong));
    const models::ElboTerms terms = vae->elbo(x, 1.0, /*relaxed=*/false, noise);
    sums += torch::stack({terms.reconstruction.sum(), terms.kl.sum()}).to(torch::kDouble).cpu();
  }
  sums = group.sum(sums);
  VaeEvaluation out;
  out.examples = n;
  const double count = static_cast<double>(std::max<int64_t>(1, n));
  out.reconstruction = sums[0].item<double>() / count, out.kl = sums[1].item<double>() / count;
  out.elbo = out.reconstruction - out.kl;
  return out;
}

}  // namespace zoo::train
