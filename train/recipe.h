#pragma once
// A model family's part of a training run. train_main (train/train_main.h) does what every
// run does — runtime, process group, run directory, loader, optimizer steps, EMA, learning
// rate schedule, checkpoints, resume, the metrics record of each report — and asks the
// recipe only for what differs between families: the model, the data, the loss of a batch
// at a step, the evaluation, and what a report adds (scores, pictures).
//
// A recipe is built from its typed options and the session (runtime and process group),
// and checks everything it is given there, so a bad flag or file is refused before the run
// directory is touched.
#include <torch/torch.h>

#include <memory>
#include <string>

#include "core/distributed.h"
#include "core/metrics_log.h"
#include "core/run_dir.h"
#include "core/runtime.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "train/ema.h"
#include "train/report_cadence.h"

namespace zoo::train {

// What every run has before its recipe is built.
struct Session {
  Runtime runtime;
  std::shared_ptr<Distributed> group;
};

// How train_main drives the recipe's run.
struct RecipePlan {
  std::string label;          // progress-bar label
  double grad_clip = 0;       // max global gradient norm; 0 = none
  bool float32_only = false;  // never autocast (log-determinants, small MLPs)
  double ema = 0;             // weight EMA decay; 0 = none
  double warmup_epochs = 0;   // linear learning-rate warmup
  bool cosine_decay = false;  // cosine decay to 0 at the end; else constant after warmup
  // When reports are made (one always is at the end): every `every` epochs, or within a
  // budget of the training time — for recipes whose evaluation is all in report(), on rank 0.
  ReportCadenceOptions reports;
};

// What the loader reads: the examples and the transform applied to each batch (none: as stored).
struct TrainingData {
  data::DatasetPtr dataset;
  data::TransformPtr transform;
};

// Where the run stands, for the recipe's evaluation and reports.
struct RunContext {
  const RunDir& run;
  Ema* ema;  // null without EMA
  int64_t per_epoch;
  int64_t total_steps;
};

class Recipe {
 public:
  virtual ~Recipe() = default;

  virtual RecipePlan plan() const = 0;
  // The module trained, and the config its checkpoint carries to rebuild it.
  virtual std::shared_ptr<torch::nn::Module> module() const = 0;
  virtual Json checkpoint_config() const = 0;
  // The training data; asked once the run directory exists (reflow keeps its pairs there).
  virtual TrainingData training_data(const RunDir& run) = 0;
  virtual std::unique_ptr<torch::optim::Optimizer> optimizer(double lr) = 0;

  // Once the run is set up (resumed, when resuming), before its first step.
  virtual void start(const RunContext&) {}
  // The loss of one batch; the trainer runs backward and the optimizer step.
  virtual torch::Tensor loss(const data::Batch& batch, int64_t step) = 0;
  // At each report, on every rank: a data-parallel evaluation scores each rank's share and
  // sums over the group (Distributed::share and Distributed::sum).
  virtual void evaluate(const RunContext&, int64_t /*step*/) {}
  // At each report on rank 0, after evaluate and before the checkpoint commits: the scores
  // and pictures of this step, added to the record (which has "step" and "epoch").
  virtual void report(const RunContext&, int64_t step, Json& record) = 0;
  // The result printed at the end ("best test top-1 0.91"), or empty.
  virtual std::string summary() const { return ""; }
};

}  // namespace zoo::train
