// train_vae: a variational autoencoder with a Gaussian latent (reparameterisation) or a
// categorical one (Gumbel-softmax, temperature annealed) on binarised images
// (train/vae_recipe.h). Each epoch it writes the test ELBO to metrics.jsonl, and
// reconstructions and samples to samples/.
#include "train/train_main.h"
#include "train/vae_recipe.h"

using namespace zoo;
using train::VaeTrainingOptions;

namespace {

Flags<VaeTrainingOptions> flags() {
  using O = VaeTrainingOptions;
  Flags<O> flags("train_vae", "Train a VAE with a Gaussian or a Gumbel-softmax categorical latent");
  flags.common()
      .training()
      .choice("latent", "the latent variable", &O::latent, {"gaussian", "categorical"})
      .integer("latent-dim", "Gaussian latent dimensions", &O::latent_dim, Bounds::at_least(1))
      .integer("variables", "categorical latent: one-hot variables", &O::variables, Bounds::at_least(1))
      .integer("categories", "categorical latent: classes per variable", &O::categories, Bounds::at_least(2))
      .integer("hidden", "units per encoder/decoder layer", &O::hidden, Bounds::at_least(1))
      .integer("layers", "hidden layers of encoder and decoder", &O::layers, Bounds::at_least(0))
      .text("activation", "activation of the hidden layers (models/nn/activations.h names)", &O::activation)
      .real("tau", "initial Gumbel-softmax temperature", &O::tau, Bounds::above(0))
      .real("tau-min", "final temperature", &O::tau_min, Bounds::above(0))
      .real("tau-rate", "annealing rate: tau = max(tau-min, tau·exp(−rate·step))", &O::tau_rate, Bounds::at_least(0))
      .integer("eval-limit", "evaluate on the first N test examples only (0 = all)", &O::eval_limit,
               Bounds::at_least(0));
  return flags;
}

}  // namespace

int main(int argc, char** argv) { return train::train_main<train::VaeRecipe>(flags(), argc, argv); }
