#pragma once
// The diffusion recipe (train_diffusion): a diffusion model or rectified flow in the EDM
// framework (edm, vp, ve or rf objective) with an MLP for vectors or a U-Net for images, on
// any data spec; or a rectified flow retrained on the (noise, sample) pairs of a first one
// (reflow), optionally distilled into a K-step sampler. Each report draws samples with the
// EMA weights (and, for 2-D data, scores their sliced Wasserstein distance to the test split).
#include <optional>
#include <string>
#include <vector>

#include "core/options.h"
#include "models/diffusion/diffusion_model.h"
#include "models/diffusion/loss.h"
#include "train/diffusion_io.h"
#include "train/recipe.h"

namespace zoo::train {

struct DiffusionOptions : TrainingOptions {
  DiffusionOptions() {
    data = "toy:checkerboard";
    batch_size = 256;
  }
  std::string objective = "edm";  // edm, vp, ve or rf
  std::string net = "auto";       // unet, mlp, or auto (unet for images, mlp for vectors)
  std::vector<std::string> set;   // network config overrides KEY=VALUE
  bool classes = false;           // condition on the class labels
  double label_dropout = 0.1;
  double ema = 0.999;
  double warmup_epochs = 0.2;
  std::string lr_decay = "cosine";  // cosine or none
  double grad_clip = 1.0;
  double p_mean = -1.2, p_std = 1.2;      // edm
  std::string time_sampling = "uniform";  // rf
  int64_t sample_every = 0;               // epochs between reports; 0: within 10% of the training time
  int64_t sample_n = 0;                   // 0: 64 images or 4000 points
  int64_t sample_steps = 18;
  std::string reflow_from;  // a rectified flow's run or checkpoint: train on its pairs
  int64_t pairs = 10000;
  std::string pair_sampler = "rk45";
  int64_t pair_steps = 100;
  int64_t distill_steps = 0;
};

class DiffusionRecipe : public Recipe {
 public:
  using Options = DiffusionOptions;
  DiffusionRecipe(const DiffusionOptions& options, const Session& session);

  RecipePlan plan() const override;
  std::shared_ptr<torch::nn::Module> module() const override { return model_->net(); }
  Json checkpoint_config() const override;
  TrainingData training_data(const RunDir& run) override;
  std::unique_ptr<torch::optim::Optimizer> optimizer(double lr) override;
  torch::Tensor loss(const data::Batch& batch, int64_t step) override;
  void report(const RunContext& context, int64_t step, Json& record) override;

 private:
  bool reflow() const { return source_.has_value(); }

  DiffusionOptions options_;
  Session session_;
  std::string data_spec_;
  std::vector<std::string> classes_;
  data::DatasetPtr train_data_;            // plain training; reflow's pairs come with the run directory
  std::optional<LoadedDiffusion> source_;  // reflow: the model whose pairs it trains on
  std::optional<diffusion::DiffusionModel> model_;
  std::optional<diffusion::DiffusionLoss> loss_;
  torch::Tensor test_points_;  // 2-D data: the test split, for the sliced Wasserstein distance
};

}  // namespace zoo::train
