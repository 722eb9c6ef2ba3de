#include "train/vae_recipe.h"

#include <cstdio>

#include "core/error.h"
#include "core/seed.h"
#include "data/spec.h"
#include "models/nn/eval_mode.h"
#include "train/adam.h"
#include "train/sample_picture.h"

namespace zoo::train {

VaeRecipe::VaeRecipe(const VaeTrainingOptions& options, const Session& session) : session_(session) {
  train_data_ = data::open_dataset(options.data, data::Split::train, options.limit);
  const data::DatasetPtr test_data = data::open_dataset(options.data, data::Split::test, options.eval_limit);
  if (!train_data_->info().is_image())
    throw Error("--data " + options.data + ": train_vae models images", ErrorKind::usage);
  vae_options_.shape = train_data_->info().shape;
  vae_options_.latent = options.latent;
  vae_options_.latent_dim = options.latent_dim;
  vae_options_.variables = options.variables;
  vae_options_.categories = options.categories;
  vae_options_.hidden = options.hidden;
  vae_options_.layers = options.layers;
  vae_options_.activation = options.activation;
  vae_ = models::Vae(vae_options_);
  vae_->to(session.runtime.device);
  temperature_ = {options.tau, options.tau_min, options.tau_rate};
  test_binary_ = fixed_binarization(*test_data, session.runtime.seed);
}

RecipePlan VaeRecipe::plan() const {
  RecipePlan plan;
  plan.label = "train vae " + vae_options_.latent;
  plan.float32_only = true;
  return plan;
}

Json VaeRecipe::checkpoint_config() const {
  return {{"model", "vae"}, {"config", fields_to_json(vae_options_)}, {"classes", train_data_->info().classes}};
}

std::unique_ptr<torch::optim::Optimizer> VaeRecipe::optimizer(double lr) {
  return std::make_unique<Adam>(vae_->parameters(), torch::optim::AdamOptions(lr));
}

torch::Tensor VaeRecipe::loss(const data::Batch& batch, int64_t step) {
  // Dynamic binarisation (a fresh binary image each time an example is seen) and latent
  // noise, per example from (seed, step, example): a data-parallel run draws the same.
  const uint64_t step_seed =
      derive_seed(session_.runtime.seed, static_cast<uint64_t>(Stream::noise), static_cast<uint64_t>(step));
  const torch::Tensor pixels =
      indexed_rand(batch.inputs.sizes().slice(1), step_seed, Stream::dequantize, batch.indices);
  const torch::Tensor x = pixels.lt(batch.inputs).to(torch::kFloat).to(session_.runtime.device);
  return -vae_->elbo(x, temperature_.at(step), true, vae_->indexed_noise(step_seed, batch.indices)).elbo().mean();
}

void VaeRecipe::evaluate(const RunContext&, int64_t) {
  test_ = evaluate_vae(vae_, test_binary_, session_.runtime.seed, *session_.group);
}

void VaeRecipe::report(const RunContext& context, int64_t step, Json& record) {
  record["test_elbo"] = test_.elbo;
  record["test_reconstruction"] = test_.reconstruction;
  record["test_kl"] = test_.kl;
  record["temperature"] = temperature_.at(step);
  const torch::Tensor originals = test_binary_.narrow(0, 0, std::min<int64_t>(32, test_binary_.size(0)));
  torch::Tensor samples, pairs;
  with_stream_seed(session_.runtime.seed, Stream::latent, [&] {
    torch::NoGradGuard no_grad;
    const models::EvalMode eval(*vae_);
    samples = vae_->sample(64).cpu();
    // Each test image beside its reconstruction.
    pairs = torch::stack({originals, vae_->reconstruct(originals.to(session_.runtime.device)).cpu()}, 1).flatten(0, 1);
    return 0;
  });
  record["samples"] = save_samples_picture(step_picture_path(context.run, "samples", step), samples, "samples");
  record["reconstructions"] =
      save_samples_picture(step_picture_path(context.run, "reconstructions", step), pairs, "test | reconstruction");
  std::fprintf(stderr, "\nstep %lld: test ELBO %.2f nats (reconstruction %.2f, KL %.2f)\n",
               static_cast<long long>(step), test_.elbo, test_.reconstruction, test_.kl);
}

}  // namespace zoo::train
