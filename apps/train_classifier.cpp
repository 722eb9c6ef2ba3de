// train_classifier: trains an image classifier (EfficientNet B0–B7, any φ, V2) on any image
// data spec with the EfficientNet paper's recipe scaled down (train/classifier_recipe.h).
// Evaluates top-1/top-5 on the test split every epoch and keeps the best checkpoint.
#include "models/nn/metric_losses.h"
#include "models/registry.h"
#include "train/classifier_recipe.h"
#include "train/train_main.h"

using namespace zoo;
using train::ClassifierOptions;

namespace {

Flags<ClassifierOptions> flags() {
  using O = ClassifierOptions;
  Flags<O> flags("train_classifier", "Train an image classifier (EfficientNet family) on a dataset");
  flags.common()
      .training(models::classifier_names())
      .choice("optimizer", "AdamW, SGD with Nesterov momentum or RMSProp (the paper's)", &O::optimizer,
              {"adamw", "sgd", "rmsprop"})
      .real("weight-decay", "weight decay", &O::weight_decay, Bounds::at_least(0))
      .real("momentum", "momentum for sgd and rmsprop", &O::momentum, Bounds::between(0, 1))
      .real("warmup-epochs", "epochs of linear learning-rate warmup", &O::warmup_epochs, Bounds::at_least(0))
      .choice("loss", "cross-entropy or a smooth surrogate of accuracy or macro-F1", &O::loss,
              models::classification_loss_names())
      .real("f1-weight", "weight of the soft F1 term in ce+soft_f1", &O::f1_weight, Bounds::at_least(0))
      .real("label-smoothing", "label smoothing of the cross-entropy", &O::label_smoothing, Bounds::between(0, 1))
      .real("ema", "weight EMA decay (0 = off); evaluation and best use the EMA weights", &O::ema,
            Bounds::between(0, 1))
      .integer("image-size", "resize inputs to this size (0 = the data's own)", &O::image_size, Bounds::at_least(0))
      .flag("no-augment", "turn off pad + crop and flip augmentation", &O::no_augment)
      .real("random-erasing", "probability of random erasing (torchvision's, after normalising; 0 = off)",
            &O::random_erasing, Bounds::between(0, 1))
      .flag("channels-last", "keep weights and activations channels-last (NHWC): ~2x faster on the CPU with oneDNN",
            &O::channels_last)
      .flag("sync-batch-norm", "data-parallel runs: BatchNorm uses the statistics of the global batch",
            &O::sync_batch_norm)
      .texts("set", "model config overrides KEY=VALUE (e.g. phi=-2, dropout=0.1)", &O::set)
      .integer("eval-limit", "evaluate on the first N test examples only (0 = all)", &O::eval_limit,
               Bounds::at_least(0))
      .text("init", "initialise from weights (.safetensors, .pth or TorchScript)", &O::init)
      .flag("allow-unknown-globals",
            "--init: read a .pth that names Python globals beyond tensors and plain "
            "containers (never run; only for files you trust)",
            &O::allow_unknown_globals);
  return flags;
}

}  // namespace

int main(int argc, char** argv) { return train::train_main<train::ClassifierRecipe>(flags(), argc, argv); }
