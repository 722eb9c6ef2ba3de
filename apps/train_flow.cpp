// train_flow: trains NICE, RealNVP or Glow by maximum likelihood on any dataset spec
// (images or vectors; train/flow_recipe.h). Each epoch it writes the test negative
// log-likelihood (bits/dim for images, nats for vectors) to metrics.jsonl, a sample grid or
// scatter to samples/, and a checkpoint; --resume continues a run exactly.
#include "models/flows/flow_models.h"
#include "train/flow_recipe.h"
#include "train/train_main.h"

using namespace zoo;
using train::FlowOptions;

namespace {

Flags<FlowOptions> flags() {
  using O = FlowOptions;
  Flags<O> flags("train_flow", "Train a normalizing flow (NICE, RealNVP, Glow) by maximum likelihood");
  flags.common()
      .training(flows::flow_kinds().names())
      .texts("set", "model option overrides KEY=VALUE (e.g. steps=16, hidden=512, levels=3)", &O::set)
      .choice("preprocessing", "auto, unit, center or logit for images, none for vectors", &O::preprocessing,
              {"auto", "none", "unit", "center", "logit"})
      .real("logit-alpha", "α of the logit preprocessing", &O::logit_alpha)
      .real("warmup-epochs", "epochs of linear learning-rate warmup", &O::warmup_epochs, Bounds::at_least(0))
      .real("grad-clip", "maximum gradient norm (0 = off)", &O::grad_clip, Bounds::at_least(0))
      .real("temperature", "temperature of the sample pictures", &O::temperature, Bounds::above(0))
      .integer("sample-every", "epochs between sample pictures and test evaluations", &O::sample_every,
               Bounds::at_least(1))
      .integer("sample-n", "samples per picture (0 = 64 images or 4000 points)", &O::sample_n, Bounds::at_least(0))
      .integer("eval-limit", "evaluate on the first N test examples only (0 = all)", &O::eval_limit,
               Bounds::at_least(0));
  return flags;
}

}  // namespace

int main(int argc, char** argv) { return train::train_main<train::FlowRecipe>(flags(), argc, argv); }
