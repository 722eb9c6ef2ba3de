#pragma once
// The tabular recipe (train_tabular): an MLP classifier or regressor over the feature
// columns of a CSV table (data/tabular). The columns are fitted on the training rows
// (normalisers, learned vocabularies) and saved with the checkpoint; each report scores the
// test accuracy and macro-F1 (classification) or RMSE and MAE in the target's units
// (regression), beside the score of the trivial predictor (majority class, or the mean).
#include <string>

#include "core/options.h"
#include "data/dataset.h"
#include "data/tabular/tabular_dataset.h"
#include "models/nn/metric_losses.h"
#include "models/tabular/tabular_net.h"
#include "train/recipe.h"

namespace zoo::train {

struct TabularOptions : TrainingOptions {
  TabularOptions() {
    data = "csv:/usr/lib/python3/dist-packages/vega_datasets/_data/seattle-weather.csv";
    batch_size = 32;
    lr = 3e-3;
    workers = 0;
  }
  std::string columns;  // feature-column specification (JSON file)
  std::string target;   // the column to predict
  std::string task = "auto";
  double test_fraction = 0.2;
  int64_t hidden = 64;
  int64_t layers = 2;
  std::string activation = "relu";
  double dropout = 0.1;
  double weight_decay = 1e-4;
  std::string loss = "ce";  // classification
};

// Test scores as a metrics record and a line for people.
struct TabularScores {
  Json record;
  std::string line;
};

class TabularRecipe : public Recipe {
 public:
  using Options = TabularOptions;
  TabularRecipe(const TabularOptions& options, const Session& session);

  RecipePlan plan() const override;
  std::shared_ptr<torch::nn::Module> module() const override { return net_.ptr(); }
  Json checkpoint_config() const override { return checkpoint_config_; }
  TrainingData training_data(const RunDir&) override { return {train_data_, nullptr}; }
  std::unique_ptr<torch::optim::Optimizer> optimizer(double lr) override;
  torch::Tensor loss(const data::Batch& batch, int64_t step) override;
  void evaluate(const RunContext& context, int64_t step) override;
  void report(const RunContext& context, int64_t step, Json& record) override;
  std::string summary() const override;

 private:
  // The scores of the net, or of the trivial predictor.
  TabularScores evaluate(bool trivial);

  TabularOptions options_;
  Session session_;
  data::TabularTarget target_;
  std::shared_ptr<const data::TensorDataset> train_data_, test_data_;
  models::TabularNet net_{nullptr};
  Json checkpoint_config_;
  models::ClassificationLossOptions loss_;
  torch::Tensor trivial_;  // the trivial predictor's output
  TabularScores baseline_, last_;
};

}  // namespace zoo::train
