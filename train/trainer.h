#pragma once
// The training loop every train_* executable shares: steps over a DataLoader, logs to
// metrics.jsonl with a progress display, checkpoints atomically, and resumes exactly.
// A run's position is its step count alone: step s reads batch s mod B of epoch s / B
// (B batches an epoch), and the data order of an epoch depends only on (seed, epoch), so
// a resumed run repeats the uninterrupted one step for step.
#include <torch/torch.h>

#include <functional>
#include <memory>

#include "core/distributed.h"
#include "core/json.h"
#include "core/metrics_log.h"
#include "core/run_dir.h"
#include "core/runtime.h"
#include "data/loader.h"
#include "train/ema.h"
#include "train/gradient_sync.h"

namespace zoo::train {

struct TrainerOptions {
  int64_t steps = 1000;             // total optimizer steps of the run
  int64_t log_every = 50;           // steps between metrics records
  int64_t checkpoint_every = 1000;  // steps between checkpoints (one is always written at the end)
  double grad_clip = 0;             // max global gradient norm; 0 = no clipping
  bool autocast = false;            // run the loss function under CUDA bf16 autocast (core/autocast.h)
  std::string label = "train";      // progress-bar label
};

// The loss of one batch; the trainer runs backward and the optimizer step.
using LossFn = std::function<torch::Tensor(const data::Batch& batch, int64_t step)>;
// Learning rate for a step (warmup, cosine, ...); unset keeps the optimizer's own.
using LrSchedule = std::function<double(int64_t step)>;
// Called at each checkpoint and at the end with the step reached, on rank 0 only, just
// before the checkpoint commits: records and samples go here. Anything it writes to the log
// lands beside the training records; a run killed before the commit makes them again.
using CheckpointHook = std::function<void(int64_t step, MetricsLog& log)>;
// Called at the same steps on every rank, just before the checkpoint: the evaluation, which
// in a data-parallel run each rank does on its share of the test split and sums over the
// group (Distributed::share and Distributed::sum). Its results are the checkpoint hook's to
// write.
using EvaluateHook = std::function<void(int64_t step)>;

class Trainer {
 public:
  Trainer(RunDir run, std::shared_ptr<torch::nn::Module> model, Json model_config, torch::optim::Optimizer& optimizer,
          const data::DataLoader& loader, TrainerOptions options);

  // Continues from the run's last checkpoint (weights, optimizer, RNG, step, EMA); a run
  // killed before its first checkpoint starts again from step 0.
  void resume();
  void set_lr_schedule(LrSchedule schedule) { schedule_ = std::move(schedule); }
  void on_checkpoint(CheckpointHook hook) { hook_ = std::move(hook); }
  void on_evaluate(EvaluateHook hook) { evaluate_ = std::move(hook); }
  // Keeps an EMA of the weights, updated after every step, saved with the checkpoint and
  // restored on resume. Set it before resume().
  void set_ema(Ema* ema) { ema_ = ema; }
  // Data-parallel training in a process group (core/distributed.h): gradients are averaged
  // over the ranks during backward, rank 0's weights and buffers are copied to all at the
  // start and after the first step and its buffers before every step, every rank runs the
  // evaluate hook, and only rank 0 writes metrics, checkpoints and what the checkpoint hook
  // makes. The loader must be sharded for the same group.
  void set_distributed(std::shared_ptr<Distributed> group);
  int64_t step() const { return step_; }
  const RunDir& run_dir() const { return run_; }

  // Starts the run directory (core/run_dir.h), then trains until options.steps; returns the
  // mean loss of the last logging interval.
  double run(const LossFn& loss_fn);

 private:
  // Every rank evaluates; rank 0 (the one with a log) writes.
  void checkpoint(MetricsLog* log);

  RunDir run_;
  std::shared_ptr<torch::nn::Module> model_;
  Json model_config_;
  torch::optim::Optimizer& optimizer_;
  const data::DataLoader& loader_;
  TrainerOptions options_;
  LrSchedule schedule_;
  CheckpointHook hook_;
  EvaluateHook evaluate_;
  Ema* ema_ = nullptr;
  std::shared_ptr<Distributed> group_;
  std::unique_ptr<GradientSync> sync_;
  int64_t step_ = 0;
  int64_t resumed_from_ = -1;
  double interval_sum_ = 0;  // the logging interval under way
  int64_t interval_count_ = 0;
};

// Warmup from 0 for `warmup` steps, then a cosine decay to 0 at `total`.
double cosine_with_warmup(double base_lr, int64_t step, int64_t warmup, int64_t total);
// The same warmup, then base_lr to the end (EDM's schedule).
double constant_with_warmup(double base_lr, int64_t step, int64_t warmup);

}  // namespace zoo::train
