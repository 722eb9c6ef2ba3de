#include "train/classifier_recipe.h"

#include <cstdio>
#include <filesystem>

#include "core/cli.h"
#include "core/error.h"
#include "data/input_spec.h"
#include "data/spec.h"
#include "models/nn/fuse.h"
#include "models/nn/sync_batch_norm.h"
#include "train/adam.h"
#include "weights/checkpoint.h"
#include "weights/state_dict.h"
#include "weights/weight_file.h"

namespace zoo::train {

ClassifierRecipe::ClassifierRecipe(const ClassifierOptions& options, const Session& session)
    : options_(options), session_(session) {
  loss_.name = options.loss;
  loss_.label_smoothing = options.label_smoothing;
  loss_.f1_weight = options.f1_weight;

  const data::DatasetPtr train_data = data::open_dataset(options.data, data::Split::train, options.limit);
  const data::DatasetPtr test_data = data::open_dataset(options.data, data::Split::test, options.eval_limit);
  const auto& info = train_data->info();
  if (!info.is_image() || info.num_classes() < 2)
    throw Error("--data " + options.data + ": a classifier needs labelled images");
  const int64_t native = info.shape[1];
  const data::InputSpec input =
      data::measure_input_spec(*train_data, options.image_size > 0 ? options.image_size : native);

  Json overrides = key_value_overrides(options.set);
  overrides["num_classes"] = info.num_classes();
  overrides["in_channels"] = info.shape[0];
  classifier_ = models::build_classifier(options.model, overrides);
  torch::nn::Module& module = classifier_->module();
  if (!options.init.empty()) {
    const auto report = weights::load_state_dict(
        module, weights::read_weights(options.init, weights::PthOptions{options.allow_unknown_globals}), false);
    std::fprintf(stderr, "init: %s\n", report.summary().c_str());
  }
  module.to(session.runtime.device);
  if (options.channels_last) models::to_channels_last(module);
  if (options.sync_batch_norm) models::convert_sync_batch_norm(module, session.group);
  checkpoint_config_ = {{"model", classifier_->name()},
                        {"config", classifier_->config()},
                        {"input", data::to_json(input)},
                        {"classes", info.classes}};

  data::Augmentation augmentation;
  augmentation.random_erasing = options.random_erasing;
  train_data_ = {train_data, options.no_augment ? data::eval_transform(input, native)
                                                : data::train_transform(input, native, augmentation)};
  // Each rank reads its own share of the test split, in order.
  data::LoaderOptions test_loading;
  test_loading.batch_size = options.batch_size;
  test_loading.workers = options.workers;
  test_loading.shuffle = false;
  test_loading.drop_last = false;
  test_loader_.emplace(evaluation_share(test_data, *session.group), test_loading, data::eval_transform(input, native));
}

RecipePlan ClassifierRecipe::plan() const {
  RecipePlan plan;
  plan.label = "train " + classifier_->name();
  plan.ema = options_.ema;
  plan.warmup_epochs = options_.warmup_epochs;
  plan.cosine_decay = true;
  return plan;
}

std::unique_ptr<torch::optim::Optimizer> ClassifierRecipe::optimizer(double lr) {
  const std::vector<torch::Tensor> parameters = classifier_->module().parameters();
  const double wd = options_.weight_decay, momentum = options_.momentum;
  if (options_.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        parameters, torch::optim::SGDOptions(lr).momentum(momentum).nesterov(true).weight_decay(wd));
  if (options_.optimizer == "rmsprop")  // the paper: decay 0.9, momentum 0.9, epsilon 1e-3
    return std::make_unique<torch::optim::RMSprop>(
        parameters, torch::optim::RMSpropOptions(lr).alpha(0.9).momentum(momentum).eps(1e-3).weight_decay(wd));
  return std::make_unique<AdamW>(parameters, torch::optim::AdamWOptions(lr).weight_decay(wd));
}

void ClassifierRecipe::start(const RunContext& context) {
  // A resumed run keeps the best score of its earlier part.
  if (std::filesystem::exists(context.run.metrics_path()))
    for (const Json& record : read_metrics(context.run.metrics_path()))
      if (record.contains("test_top1")) best_ = std::max(best_, record["test_top1"].get<double>());
}

torch::Tensor ClassifierRecipe::loss(const data::Batch& batch, int64_t) {
  const torch::Device& device = session_.runtime.device;
  return models::classification_loss((*classifier_)(batch.inputs.to(device)), batch.labels.to(device), loss_);
}

void ClassifierRecipe::evaluate(const RunContext& context, int64_t) {
  scores_ = with_ema_weights(context.ema, [&] {
    return evaluate_classifier(*classifier_, *test_loader_, session_.runtime.device, *session_.group);
  });
}

void ClassifierRecipe::report(const RunContext& context, int64_t step, Json& record) {
  record["test_loss"] = scores_.loss;
  record["test_top1"] = scores_.top1;
  record["test_top5"] = scores_.top5;
  record["test_macro_f1"] = scores_.macro_f1;
  std::fprintf(stderr, "\nstep %lld: test top-1 %.4f top-5 %.4f macro-F1 %.4f loss %.4f\n",
               static_cast<long long>(step), scores_.top1, scores_.top5, scores_.macro_f1, scores_.loss);
  if (scores_.top1 <= best_) return;
  best_ = scores_.top1;
  with_ema_weights(context.ema, [&] {
    weights::save_checkpoint(context.run.checkpoint_stem("best"), classifier_->module(), checkpoint_config_, {step});
    return 0;
  });
}

std::string ClassifierRecipe::summary() const {
  char text[64];
  std::snprintf(text, sizeof text, "best test top-1 %.4f", best_);
  return text;
}

}  // namespace zoo::train
