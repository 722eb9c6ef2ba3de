#pragma once
// The VAE recipe (train_vae): a variational autoencoder with a Gaussian latent
// (reparameterisation) or a categorical one (Gumbel-softmax, temperature annealed as in Jang
// et al. 2017) on dynamically binarised images. Each report scores the test ELBO (nats,
// exact one-hot samples for the categorical latent) and draws samples and reconstructions.
#include <string>

#include "core/options.h"
#include "models/nn/reparam.h"
#include "models/vae/vae.h"
#include "train/recipe.h"
#include "train/vae_evaluation.h"

namespace zoo::train {

struct VaeTrainingOptions : TrainingOptions {
  VaeTrainingOptions() { data = "fashion-mnist"; }
  std::string latent = "gaussian";  // gaussian or categorical
  int64_t latent_dim = 32;          // gaussian
  int64_t variables = 30;           // categorical: one-hot variables …
  int64_t categories = 10;          // … of this many classes
  int64_t hidden = 512;
  int64_t layers = 2;
  std::string activation = "relu";
  double tau = 1.0, tau_min = 0.5, tau_rate = 1e-4;  // Gumbel-softmax temperature schedule
  int64_t eval_limit = 0;
};

class VaeRecipe : public Recipe {
 public:
  using Options = VaeTrainingOptions;
  VaeRecipe(const VaeTrainingOptions& options, const Session& session);

  RecipePlan plan() const override;
  std::shared_ptr<torch::nn::Module> module() const override { return vae_.ptr(); }
  Json checkpoint_config() const override;
  TrainingData training_data(const RunDir&) override { return {train_data_, nullptr}; }
  std::unique_ptr<torch::optim::Optimizer> optimizer(double lr) override;
  torch::Tensor loss(const data::Batch& batch, int64_t step) override;
  void evaluate(const RunContext& context, int64_t step) override;
  void report(const RunContext& context, int64_t step, Json& record) override;

 private:
  Session session_;
  data::DatasetPtr train_data_;
  models::VaeOptions vae_options_;
  models::Vae vae_{nullptr};
  models::TemperatureSchedule temperature_;
  torch::Tensor test_binary_;  // the test images, binarised once
  VaeEvaluation test_;
};

}  // namespace zoo::train
