#pragma once
// The classifier recipe (train_classifier): an image classifier from the registry
// (EfficientNet B0–B7, any φ, V2) with the recipe of the EfficientNet paper scaled down:
// AdamW, SGD (Nesterov) or RMSProp, cosine schedule with warmup, label smoothing, weight EMA,
// pad + crop and flip augmentation (and optional random erasing). Each report scores top-1,
// top-5 and macro-F1 on the test split with the EMA weights and keeps the best checkpoint.
#include <optional>
#include <string>
#include <vector>

#include "core/options.h"
#include "models/nn/metric_losses.h"
#include "models/registry.h"
#include "train/evaluate.h"
#include "train/recipe.h"

namespace zoo::train {

struct ClassifierOptions : TrainingOptions {
  ClassifierOptions() {
    data = "fashion-mnist";
    model = "efficientnet_b0";
  }
  std::string optimizer = "adamw";  // adamw, sgd (Nesterov) or rmsprop
  double weight_decay = 0.05;
  double momentum = 0.9;  // sgd and rmsprop
  double warmup_epochs = 1;
  std::string loss = "ce";  // models/nn/metric_losses.h
  double f1_weight = 1;     // ce+soft_f1
  double label_smoothing = 0.1;
  double ema = 0.999;
  int64_t image_size = 0;  // 0: the data's own
  bool no_augment = false;
  double random_erasing = 0;
  bool channels_last = false;
  bool sync_batch_norm = false;
  std::vector<std::string> set;  // model config overrides KEY=VALUE
  int64_t eval_limit = 0;
  std::string init;  // initial weights
  bool allow_unknown_globals = false;
};

class ClassifierRecipe : public Recipe {
 public:
  using Options = ClassifierOptions;
  ClassifierRecipe(const ClassifierOptions& options, const Session& session);

  RecipePlan plan() const override;
  std::shared_ptr<torch::nn::Module> module() const override { return classifier_->module_ptr(); }
  Json checkpoint_config() const override { return checkpoint_config_; }
  TrainingData training_data(const RunDir&) override { return train_data_; }
  std::unique_ptr<torch::optim::Optimizer> optimizer(double lr) override;
  void start(const RunContext& context) override;
  torch::Tensor loss(const data::Batch& batch, int64_t step) override;
  void evaluate(const RunContext& context, int64_t step) override;
  void report(const RunContext& context, int64_t step, Json& record) override;
  std::string summary() const override;

 private:
  ClassifierOptions options_;
  Session session_;
  models::ClassificationLossOptions loss_;
  TrainingData train_data_;
  std::optional<models::Classifier> classifier_;
  Json checkpoint_config_;
  std::optional<data::DataLoader> test_loader_;
  ClassifierScores scores_;
  double best_ = -1;  // the best test top-1 of the run so far
};

}  // namespace zoo::train
