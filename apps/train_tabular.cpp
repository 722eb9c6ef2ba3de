// train_tabular: an MLP classifier or regressor over the feature columns of a CSV table
// (train/tabular_recipe.h); each epoch writes the test scores beside the trivial
// predictor's to metrics.jsonl.
#include "models/nn/metric_losses.h"
#include "train/tabular_recipe.h"
#include "train/train_main.h"

using namespace zoo;
using train::TabularOptions;

namespace {

Flags<TabularOptions> flags() {
  using O = TabularOptions;
  Flags<O> flags("train_tabular", "Train an MLP classifier or regressor on a CSV table through feature columns");
  flags.common()
      .training()
      .required("columns", "feature-column specification (JSON; see data/tabular/feature_columns.h)", &O::columns)
      .required("target", "the column to predict", &O::target)
      .choice("task", "auto: classification for a text target, regression for a number", &O::task,
              {"auto", "classification", "regression"})
      .real("test-fraction", "fraction of the rows held out for testing (a seeded random split)", &O::test_fraction,
            Bounds::between(0, 1))
      .integer("hidden", "units per hidden layer", &O::hidden, Bounds::at_least(1))
      .integer("layers", "hidden layers", &O::layers, Bounds::at_least(0))
      .text("activation", "activation of the hidden layers (models/nn/activations.h names)", &O::activation)
      .real("dropout", "dropout after each hidden layer", &O::dropout, Bounds::between(0, 1))
      .real("weight-decay", "AdamW weight decay", &O::weight_decay, Bounds::at_least(0))
      .choice("loss", "classification loss", &O::loss, models::classification_loss_names());
  return flags;
}

}  // namespace

int main(int argc, char** argv) { return train::train_main<train::TabularRecipe>(flags(), argc, argv); }
