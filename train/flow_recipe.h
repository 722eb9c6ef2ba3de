#pragma once
// The flow recipe (train_flow): NICE, RealNVP or Glow by maximum likelihood on any data
// spec (images or vectors). Each report scores the test negative log-likelihood (bits/dim
// for images, nats for vectors) and draws a sample grid or scatter.
#include <string>
#include <vector>

#include "core/options.h"
#include "models/flows/flow_model.h"
#include "train/flow_io.h"
#include "train/recipe.h"

namespace zoo::train {

struct FlowOptions : TrainingOptions {
  FlowOptions() {
    data = "toy:moons";
    model = "glow";
    batch_size = 64;
  }
  std::vector<std::string> set;  // model option overrides KEY=VALUE
  std::string preprocessing = "auto";
  double logit_alpha = 0.05;
  double warmup_epochs = 0.2;
  double grad_clip = 50;
  double temperature = 1.0;  // of the sample pictures
  int64_t sample_every = 1;  // epochs between reports
  int64_t sample_n = 0;      // 0: 64 images or 4000 points
  int64_t eval_limit = 0;
};

class FlowRecipe : public Recipe {
 public:
  using Options = FlowOptions;
  FlowRecipe(const FlowOptions& options, const Session& session);

  RecipePlan plan() const override;
  std::shared_ptr<torch::nn::Module> module() const override { return model_.ptr(); }
  Json checkpoint_config() const override;
  TrainingData training_data(const RunDir&) override { return {train_data_, nullptr}; }
  std::unique_ptr<torch::optim::Optimizer> optimizer(double lr) override;
  torch::Tensor loss(const data::Batch& batch, int64_t step) override;
  void evaluate(const RunContext& context, int64_t step) override;
  void report(const RunContext& context, int64_t step, Json& record) override;

 private:
  FlowOptions options_;
  Session session_;
  data::DatasetPtr train_data_, test_data_;
  flows::FlowModel model_{nullptr};
  torch::Tensor test_points_;  // 2-D data: the test split, for the sliced Wasserstein distance
  FlowEvaluation test_;
};

}  // namespace zoo::train
