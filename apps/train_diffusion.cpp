// train_diffusion: trains a diffusion model or a rectified flow in the EDM framework
// (VP, VE, EDM or flow-matching objective) with an MLP for vectors or a U-Net for images,
// on any data spec. Also trains the second rectified flow on (noise, sample) pairs of a
// first one (reflow), and distils it into a K-step sampler (train/diffusion_recipe.h).
#include "models/diffusion/denoising_nets.h"
#include "models/diffusion/samplers.h"
#include "train/diffusion_recipe.h"
#include "train/train_main.h"

using namespace zoo;
using train::DiffusionOptions;

namespace {

std::vector<std::string> net_names() {
  std::vector<std::string> names = diffusion::denoising_nets().names();
  names.insert(names.begin(), "auto");
  return names;
}

Flags<DiffusionOptions> flags() {
  using O = DiffusionOptions;
  Flags<O> flags("train_diffusion",
                 "Train a diffusion model or rectified flow (EDM framework: edm, vp, ve, rf objectives)");
  flags.common()
      .training()
      .choice("objective", "the EDM objective, or rf: rectified flow / flow matching", &O::objective,
              {"edm", "vp", "ve", "rf"})
      .choice("net", "the network (auto: unet for images, mlp for vectors)", &O::net, net_names())
      .texts("set", "network config overrides KEY=VALUE (e.g. channels=64, hidden=512, channel_mult=[1,2])", &O::set)
      .flag("classes", "condition on the data's class labels (with label dropout, for classifier-free guidance)",
            &O::classes)
      .real("label-dropout", "probability of training a conditional model without its label", &O::label_dropout,
            Bounds::between(0, 1))
      .real("ema", "weight EMA decay (0 = off); samples use the EMA weights", &O::ema, Bounds::between(0, 1))
      .real("warmup-epochs", "epochs of linear learning-rate warmup", &O::warmup_epochs, Bounds::at_least(0))
      .choice("lr-decay", "cosine, or none: constant after warmup, as EDM", &O::lr_decay, {"cosine", "none"})
      .real("grad-clip", "maximum gradient norm (0 = off)", &O::grad_clip, Bounds::at_least(0))
      .real("p-mean", "edm: mean of ln σ in training", &O::p_mean)
      .real("p-std", "edm: standard deviation of ln σ in training", &O::p_std, Bounds::above(0))
      .choice("time-sampling", "rf: training times", &O::time_sampling, {"uniform", "logit_normal"})
      .integer("sample-every",
               "epochs between sample pictures (and, for 2-D data, the SWD to test data); 0: as often as keeps "
               "them within 10% of the training time",
               &O::sample_every, Bounds::at_least(0))
      .integer("sample-n", "samples per picture (0 = 64 images or 4000 points)", &O::sample_n, Bounds::at_least(0))
      .integer("sample-steps", "heun steps for those samples", &O::sample_steps, Bounds::at_least(1))
      .text("reflow-from", "train a rectified flow on (noise, sample) pairs of this checkpoint (run dir or file)",
            &O::reflow_from)
      .integer("pairs", "reflow: number of (noise, sample) pairs to draw", &O::pairs, Bounds::at_least(1))
      .choice("pair-sampler", "reflow: the sampler that solves the ODE for the pairs", &O::pair_sampler,
              diffusion::samplers().names())
      .integer("pair-steps", "reflow: steps of a fixed-step pair sampler", &O::pair_steps, Bounds::at_least(1))
      .integer("distill-steps", "with --reflow-from: train only at the K times of a K-step Euler sampler (0 = off)",
               &O::distill_steps, Bounds::at_least(0));
  return flags;
}

}  // namespace

int main(int argc, char** argv) { return train::train_main<train::DiffusionRecipe>(flags(), argc, argv); }
