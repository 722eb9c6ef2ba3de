#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/autocast.h"
#include "core/error.h"
#include "core/plot.h"
#include "core/progress.h"
#include "weights/checkpoint.h"

namespace zoo::train {

Trainer::Trainer(RunDir run, std::shared_ptr<torch::nn::Module> model, Json model_config,
                 torch::optim::Optimizer& optimizer, const data::DataLoader& loader, TrainerOptions options)
    : run_(std::move(run)),
      model_(std::move(model)),
      model_config_(std::move(model_config)),
      optimizer_(optimizer),
      loader_(loader),
      options_(options) {
  if (options_.steps < 1) throw Error("the run must train at least one step", ErrorKind::usage);
  if (options_.log_every < 1 || options_.checkpoint_every < 1)
    throw Error("log and checkpoint intervals must be positive", ErrorKind::usage);
}

void Trainer::set_distributed(std::shared_ptr<Distributed> group) {
  group_ = std::move(group);
  sync_ = group_ && group_->active() ? std::make_unique<GradientSync>(group_, model_->parameters()) : nullptr;
}

void Trainer::resume() {
  if (!run_.has_checkpoint("last")) {
    std::fprintf(stderr, "resume: %s has no checkpoint yet: training from step 0\n", run_.path().c_str());
    resumed_from_ = 0;
    return;
  }
  weights::NamedTensors ema;
  const weights::TrainState state =
      weights::load_training_checkpoint(run_.checkpoint_stem("last"), *model_, optimizer_, ema_ ? &ema : nullptr);
  if (ema_) ema_->load(ema);
  step_ = resumed_from_ = state.step;
  interval_sum_ = state.interval_loss_sum;
  interval_count_ = state.interval_steps;
}

void Trainer::checkpoint(MetricsLog* log) {
  if (evaluate_) evaluate_(step_);
  // Each rank's interval holds its share's losses and the log averages the ranks' means, so
  // the ranks' average partial sum, which every rank resumes with, logs the same records.
  const double interval_sum = sync_ ? group_->sum(torch::tensor(interval_sum_, torch::kDouble)).item<double>() /
                                          static_cast<double>(group_->world_size())
                                    : interval_sum_;
  if (!log) return;
  // The hook's records and samples come before the commit: a run killed in between resumes
  // from the previous checkpoint, which drops those records and makes them again.
  if (hook_) hook_(step_, *log);
  weights::TrainState state;
  state.step = step_;
  state.interval_loss_sum = interval_sum;
  state.interval_steps = interval_count_;
  weights::TrainingParts parts;
  parts.optimizer = &optimizer_;
  if (ema_) parts.ema = &ema_->state();
  weights::save_checkpoint(run_.checkpoint_stem("last"), *model_, model_config_, state, parts);
}

namespace {
std::string loss_status(double loss) {
  char status[64];
  std::snprintf(status, sizeof status, "loss %.4g", loss);
  return status;
}
}  // namespace

double Trainer::run(const LossFn& loss_fn) {
  // Only rank 0 logs, shows progress and checkpoints.
  const bool main = !group_ || group_->main();
  std::optional<MetricsLog> log;
  std::optional<Progress> progress;
  if (main) {
    run_.start();
    weights::remove_uncommitted_parts(run_.checkpoint_stem("last"));
    log.emplace(run_.metrics_path(), resumed_from_);
    progress.emplace(options_.label, options_.steps, step_);
  }
  const int64_t per_epoch = loader_.batches_per_epoch();
  if (sync_) broadcast_module_state(*group_, *model_);
  const int64_t first_step = step_;
  const auto started = std::chrono::steady_clock::now();
  double last_mean = NAN;
  model_->train();

  while (step_ < options_.steps) {
    const int64_t epoch = step_ / per_epoch;
    auto reader = loader_.epoch(epoch, step_ % per_epoch);
    while (step_ < options_.steps) {
      std::optional<data::Batch> batch = reader->next();
      if (!batch) break;
      if (schedule_) {
        const double lr = schedule_(step_);
        for (auto& group : optimizer_.param_groups()) group.options().set_lr(lr);
      }
      optimizer_.zero_grad();
      if (sync_) broadcast_module_buffers(*group_, *model_);
      torch::Tensor loss;
      {
        AutocastGuard autocast(options_.autocast);
        loss = loss_fn(*batch, step_);
      }
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        throw Error("the loss became " + std::to_string(value) + " at step " + std::to_string(step_) +
                        "; lower --lr or resume from the last checkpoint",
                    ErrorKind::runtime);
      if (sync_) sync_->start_step();
      loss.backward();
      if (sync_) sync_->finish_step();
      if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), options_.grad_clip);
      optimizer_.step();
      if (sync_ && step_ == first_step) broadcast_module_state(*group_, *model_);
      if (ema_) ema_->update(step_);
      ++step_;
      interval_sum_ += value;
      ++interval_count_;

      if (step_ % options_.log_every == 0 || step_ == options_.steps) {
        last_mean = interval_sum_ / static_cast<double>(interval_count_);
        // The logged loss is the global batch's: the mean of the ranks' means.
        if (sync_)
          last_mean = group_->sum(torch::tensor(last_mean, torch::kDouble)).item<double>() /
                      static_cast<double>(group_->world_size());
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        if (log)
          log->write({{"step", step_},
                      {"epoch", static_cast<double>(step_) / static_cast<double>(per_epoch)},
                      {"loss", last_mean},
                      {"lr", optimizer_.param_groups().front().options().get_lr()},
                      {"seconds", seconds}});
        interval_sum_ = 0, interval_count_ = 0;
      }
      if (progress) progress->update(step_, loss_status(std::isnan(last_mean) ? value : last_mean));
      if (step_ % options_.checkpoint_every == 0 && step_ < options_.steps) checkpoint(log ? &*log : nullptr);
    }
  }
  if (progress) progress->finish(loss_status(last_mean));
  // A run resumed at its last step (killed after its final commit) has nothing to add.
  if (step_ > first_step) checkpoint(log ? &*log : nullptr);
  if (log) plot_metric(run_.metrics_path(), "loss", run_.loss_plot_path());
  return last_mean;
}

double constant_with_warmup(double base_lr, int64_t step, int64_t warmup) {
  return step < warmup ? base_lr * static_cast<double>(step + 1) / static_cast<double>(warmup) : base_lr;
}

double cosine_with_warmup(double base_lr, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup) return constant_with_warmup(base_lr, step, warmup);
  const double progress =
      static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  return base_lr * 0.5 * (1 + std::cos(M_PI * std::min(1.0, progress)));
}

}  // namespace zoo::train
