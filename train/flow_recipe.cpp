#include "train/flow_recipe.h"

#include <cstdio>

#include "core/cli.h"
#include "core/error.h"
#include "core/seed.h"
#include "data/spec.h"
#include "train/adam.h"
#include "train/sample_metrics.h"
#include "train/sample_picture.h"

namespace zoo::train {

FlowRecipe::FlowRecipe(const FlowOptions& options, const Session& session) : options_(options), session_(session) {
  if (options.precision == "bf16")
    throw Error("--precision bf16: flows train in float32 (log-determinants need it)", ErrorKind::usage);
  train_data_ = data::open_dataset(options.data, data::Split::train, options.limit);
  test_data_ = data::open_dataset(options.data, data::Split::test, options.eval_limit);
  flows::FlowModelConfig config;
  config.model = options.model;
  config.options = key_value_overrides(options.set);
  config.shape = train_data_->info().shape;
  config.preprocessing = options.preprocessing;
  config.logit_alpha = options.logit_alpha;
  model_ = flows::FlowModel(config);
  model_->to(session.runtime.device);
  if (config.shape == std::vector<int64_t>{2}) test_points_ = data::stack_inputs(*test_data_);
}

RecipePlan FlowRecipe::plan() const {
  RecipePlan plan;
  plan.label = "train " + options_.model;
  plan.grad_clip = options_.grad_clip;
  plan.float32_only = true;  // log-determinants need float32
  plan.warmup_epochs = options_.warmup_epochs;
  plan.reports.every = options_.sample_every;
  return plan;
}

Json FlowRecipe::checkpoint_config() const {
  return flow_checkpoint_config(*model_, train_data_->info().classes, options_.data);
}

std::unique_ptr<torch::optim::Optimizer> FlowRecipe::optimizer(double lr) {
  return std::make_unique<Adam>(model_->parameters(), torch::optim::AdamOptions(lr));
}

torch::Tensor FlowRecipe::loss(const data::Batch& batch, int64_t) {
  return model_->loss(batch.inputs.to(session_.runtime.device));
}

void FlowRecipe::evaluate(const RunContext&, int64_t) {
  test_ = evaluate_flow(*model_, *test_data_, session_.runtime.seed, 256, *session_.group);
}

void FlowRecipe::report(const RunContext& context, int64_t step, Json& record) {
  const char* unit = model_->images() ? "bits/dim" : "nats";
  record["test_nll"] = test_.nll;
  record["unit"] = unit;
  const int64_t n = samples_per_picture(options_.sample_n, test_points_.defined());
  const torch::Tensor samples = with_stream_seed(session_.runtime.seed, Stream::latent, [&] {
    torch::NoGradGuard no_grad;
    model_->eval();
    torch::Tensor drawn = model_->sample(n, options_.temperature).cpu();
    model_->train();
    return drawn;
  });
  record["samples"] =
      save_samples_picture(step_picture_path(context.run, "step", step), samples, "step " + std::to_string(step));
  if (test_points_.defined()) record["swd"] = sliced_wasserstein(samples, test_points_);
  std::fprintf(stderr, "step %lld: test %.4f %s\n", static_cast<long long>(step), test_.nll, unit);
}

}  // namespace zoo::train
