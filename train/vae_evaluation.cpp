#include "train/vae_evaluation.h"

#include "core/seed.h"
#include "models/nn/eval_mode.h"

namespace zoo::train {

torch::Tensor fixed_binarization(const data::Dataset& dataset, uint64_t seed) {
  at::Generator generator = at::detail::createCPUGenerator(derive_seed(seed, static_cast<uint64_t>(Stream::dequantize), 0));
  return torch::bernoulli(data::stack_inputs(dataset), generator);
}

VaeEvaluation evaluate_vae(models::Vae& vae, const torch::Tensor& binary_images, uint64_t seed, const torch::Device& device,
                           int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const models::EvalMode eval(*vae);
  const torch::Tensor rng = cpu_rng_state();
  torch::manual_seed(static_cast<int64_t>(derive_seed(seed, static_cast<uint64_t>(Stream::latent), 1)));
  VaeEvaluation out;
  for (int64_t begin = 0; begin < binary_images.size(0); begin += batch_size) {
    const torch::Tensor x = binary_images.narrow(0, begin, std::min(batch_size, binary_images.size(0) - begin)).to(device);
    const models::ElboTerms terms = vae->elbo(x, 1.0, /*relaxed=*/false);
    out.reconstruction += terms.reconstruction.sum().item<double>();
    out.kl += terms.kl.sum().item<double>();
    out.examples += x.size(0);
  }
  set_cpu_rng_state(rng);
  const double n = static_cast<double>(std::max<int64_t>(1, out.examples));
  out.reconstruction /= n, out.kl /= n, out.elbo = out.reconstruction - out.kl;
  return out;
}

}  // namespace zoo::train
