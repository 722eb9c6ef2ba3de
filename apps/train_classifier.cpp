// train_classifier: trains an image classifier from the registry (EfficientNet B0–B7, any
// φ, V2) on any image data spec, with the recipe of the EfficientNet paper scaled down:
// AdamW, SGD (Nesterov) or RMSProp, cosine schedule with warmup, label smoothing, weight
// EMA, pad + crop and flip augmentation (and optional random erasing). Evaluates top-1/top-5
// on the test split every epoch and keeps the best checkpoint. --loss picks cross-entropy or
// a smooth surrogate of accuracy or macro-F1 (models/nn/metric_losses.h).
#include <cstdio>
#include <filesystem>

#include "core/cli.h"
#include "core/error.h"
#include "core/runtime.h"
#include "data/input_spec.h"
#include "data/spec.h"
#include "models/nn/fuse.h"
#include "models/nn/metric_losses.h"
#include "models/nn/sync_batch_norm.h"
#include "models/registry.h"
#include "train/adam.h"
#include "train/evaluate.h"
#include "train/trainer.h"
#include "weights/checkpoint.h"
#include "weights/state_dict.h"
#include "weights/weight_file.h"

using namespace zoo;

namespace {

Cli make_cli() {
  Cli cli("train_classifier", "Train an image classifier (EfficientNet family) on a dataset");
  cli.common()
      .training({"fashion-mnist", "efficientnet_b0", 128, 1e-3})
      .text("optimizer", "adamw, sgd (Nesterov momentum) or rmsprop (the paper's)", "adamw")
      .real("weight-decay", "weight decay", 0.05)
      .real("momentum", "momentum for sgd and rmsprop", 0.9)
      .real("warmup-epochs", "epochs of linear learning-rate warmup", 1)
      .text("loss", "ce, soft_accuracy, soft_f1 or ce+soft_f1 (smooth surrogates of the metrics)", "ce")
      .real("f1-weight", "weight of the soft F1 term in ce+soft_f1", 1)
      .real("label-smoothing", "label smoothing of the cross-entropy", 0.1)
      .real("ema", "weight EMA decay (0 = off); evaluation and best use the EMA weights", 0.999)
      .integer("image-size", "resize inputs to this size (0 = the data's own)", 0)
      .flag("no-augment", "turn off pad + crop and flip augmentation")
      .real("random-erasing", "probability of random erasing (torchvision's, after normalising; 0 = off)", 0)
      .flag("channels-last", "keep weights and activations channels-last (NHWC): ~2x faster on the CPU with oneDNN")
      .flag("sync-batch-norm", "data-parallel runs: BatchNorm uses the statistics of the global batch")
      .texts("set", "model config overrides KEY=VALUE (e.g. phi=-2, dropout=0.1)")
      .integer("eval-limit", "evaluate on the first N test examples only (0 = all)", 0)
      .text("init", "initialise from weights (.safetensors, .pth or TorchScript)", "")
      .flag("allow-unknown-globals",
            "--init: read a .pth that names Python globals beyond tensors and plain "
            "containers (never run; only for files you trust)");
  return cli;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const Json& o, const std::vector<torch::Tensor>& parameters) {
  const std::string name = o["optimizer"];
  const double lr = o["lr"], wd = o["weight_decay"], momentum = o["momentum"];
  if (name == "adamw")
    return std::make_unique<train::AdamW>(parameters, torch::optim::AdamWOptions(lr).weight_decay(wd));
  if (name == "sgd")
    return std::make_unique<torch::optim::SGD>(
        parameters, torch::optim::SGDOptions(lr).momentum(momentum).nesterov(true).weight_decay(wd));
  if (name == "rmsprop")  // the paper: decay 0.9, momentum 0.9, epsilon 1e-3
    return std::make_unique<torch::optim::RMSprop>(
        parameters, torch::optim::RMSpropOptions(lr).alpha(0.9).momentum(momentum).eps(1e-3).weight_decay(wd));
  throw Error("--optimizer " + name + ": expected adamw, sgd or rmsprop", ErrorKind::usage);
}

double best_top1_so_far(const std::string& metrics_path) {
  double best = -1;
  if (std::filesystem::exists(metrics_path))
    for (const Json& r : read_metrics(metrics_path))
      if (r.contains("test_top1")) best = std::max(best, r["test_top1"].get<double>());
  return best;
}

int run(int argc, char** argv) {
  const Cli cli = make_cli();
  const Json options = train::parse_training_flags(cli, argc, argv);
  const bool resume = options["resume"];
  Runtime runtime = setup_runtime(options);
  const std::shared_ptr<Distributed> group = train::join_process_group(runtime);
  models::ClassificationLossOptions loss_options;
  loss_options.name = options["loss"];
  loss_options.label_smoothing = options["label_smoothing"];
  loss_options.f1_weight = options["f1_weight"];
  models::check_classification_loss(loss_options.name);

  const int64_t limit = options["limit"];
  const data::DatasetPtr train_data = data::open_dataset(options["data"], data::Split::train, limit);
  const data::DatasetPtr test_data = data::open_dataset(options["data"], data::Split::test, options["eval_limit"]);
  const auto& info = train_data->info();
  if (!info.is_image() || info.num_classes() < 2)
    throw Error("--data " + options["data"].get<std::string>() + ": a classifier needs labelled images");
  const int64_t native = info.shape[1];
  const int64_t size = options["image_size"].get<int64_t>() > 0 ? options["image_size"].get<int64_t>() : native;
  const data::InputSpec input = data::measure_input_spec(*train_data, size);

  Json overrides = key_value_overrides(options["set"]);
  overrides["num_classes"] = info.num_classes();
  overrides["in_channels"] = info.shape[0];
  models::Classifier classifier = models::build_classifier(options["model"], overrides);
  if (!options["init"].get<std::string>().empty()) {
    const weights::PthOptions pth{options["allow_unknown_globals"].get<bool>()};
    const auto report =
        weights::load_state_dict(classifier.module(), weights::read_weights(options["init"], pth), false);
    std::fprintf(stderr, "init: %s\n", report.summary().c_str());
  }
  classifier.module().to(runtime.device);
  if (options["channels_last"]) models::to_channels_last(classifier.module());
  if (options["sync_batch_norm"]) models::convert_sync_batch_norm(classifier.module(), group);
  const Json model_config = {{"model", classifier.name()},
                             {"config", classifier.config()},
                             {"input", data::to_json(input)},
                             {"classes", info.classes}};

  const data::LoaderOptions train_loading =
      train::training_loader_options(options, runtime.seed, train_data->size(), *group);
  data::Augmentation augmentation;
  augmentation.random_erasing = options["random_erasing"];
  const data::DataLoader train_loader(
      train_data, train_loading,
      options["no_augment"] ? data::eval_transform(input, native) : data::train_transform(input, native, augmentation));
  data::LoaderOptions test_loading = train_loading;
  test_loading.shuffle = false;
  test_loading.drop_last = false;
  test_loading.rank = 0, test_loading.world_size = 1;  // each rank reads its own share
  const data::DataLoader test_loader(train::evaluation_share(test_data, *group), test_loading,
                                     data::eval_transform(input, native));

  auto optimizer = make_optimizer(options, classifier.module().parameters());
  const int64_t per_epoch = train_loader.batches_per_epoch();
  train::TrainerOptions trainer_options = train::epoch_trainer_options(options, per_epoch, runtime.device);
  trainer_options.label = "train " + classifier.name();

  RunDir run = train::open_run_dir(options, *group);
  train::Trainer trainer(run, classifier.module_ptr(), model_config, *optimizer, train_loader, trainer_options);
  trainer.set_distributed(group);
  const std::unique_ptr<train::Ema> ema = train::attach_ema(trainer, classifier.module(), options["ema"]);
  if (resume) trainer.resume();

  const double lr = options["lr"];
  const int64_t warmup = static_cast<int64_t>(options["warmup_epochs"].get<double>() * static_cast<double>(per_epoch));
  const int64_t total = trainer_options.steps;
  trainer.set_lr_schedule([=](int64_t step) { return train::cosine_with_warmup(lr, step, warmup, total); });

  double best = best_top1_so_far(run.metrics_path());
  train::ClassifierScores scores;
  trainer.on_evaluate([&](int64_t) {
    scores = train::with_ema_weights(
        ema.get(), [&] { return train::evaluate_classifier(classifier, test_loader, runtime.device, *group); });
  });
  trainer.on_checkpoint([&](int64_t step, MetricsLog& log) {
    log.write({{"step", step},
               {"epoch", static_cast<double>(step) / static_cast<double>(per_epoch)},
               {"test_loss", scores.loss},
               {"test_top1", scores.top1},
               {"test_top5", scores.top5},
               {"test_macro_f1", scores.macro_f1}});
    std::fprintf(stderr, "\nstep %lld: test top-1 %.4f top-5 %.4f macro-F1 %.4f loss %.4f\n",
                 static_cast<long long>(step), scores.top1, scores.top5, scores.macro_f1, scores.loss);
    if (scores.top1 > best) {
      best = scores.top1;
      train::with_ema_weights(ema.get(), [&] {
        weights::save_checkpoint(run.checkpoint_stem("best"), classifier.module(), model_config, {step});
        return 0;
      });
    }
  });

  trainer.run([&](const data::Batch& batch, int64_t) {
    return models::classification_loss(classifier(batch.inputs.to(runtime.device)), batch.labels.to(runtime.device),
                                       loss_options);
  });
  // Only rank 0 keeps the best score (it writes the checkpoints); the others have nothing to add.
  if (group->main()) std::printf("best test top-1 %.4f; run directory %s\n", best, run.path().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
