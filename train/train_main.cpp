#include "train/train_main.h"

#include <cstdio>
#include <optional>

#include "core/autocast.h"
#include "train/trainer.h"

namespace zoo::train {

namespace {

// A run directory made (or, with --resume, opened) by rank 0 and joined by the other ranks.
RunDir open_run_dir(const TrainingOptions& options, Distributed& group) {
  std::optional<RunDir> run;
  if (group.main())
    run = options.resume ? RunDir::open(options.out, options.resolved) : RunDir::create(options.out, options.resolved);
  group.barrier();
  return group.main() ? *run : RunDir::join(options.out);
}

// Shuffled by the run's seed, whole batches only unless the data is smaller than one batch
// a rank; sharded over the group's ranks.
data::LoaderOptions loader_options(const TrainingOptions& options, const Session& session, int64_t dataset_size) {
  data::LoaderOptions loading;
  loading.batch_size = options.batch_size;
  loading.seed = session.runtime.seed;
  loading.workers = options.workers;
  loading.rank = session.group->rank(), loading.world_size = session.group->world_size();
  loading.drop_last = dataset_size >= loading.batch_size * loading.world_size;
  return loading;
}

// --steps or --epochs of `per_epoch` batches; a checkpoint each epoch, a log record every 50
// steps (or each epoch, when shorter).
TrainerOptions trainer_options_for(const TrainingOptions& options, const RecipePlan& plan, int64_t per_epoch,
                                   const torch::Device& device) {
  TrainerOptions o;
  o.steps = options.steps > 0 ? options.steps : options.epochs * per_epoch;
  o.checkpoint_every = per_epoch;
  o.log_every = std::min<int64_t>(50, per_epoch);
  o.autocast = !plan.float32_only && autocast_for(options.precision, device);
  o.grad_clip = plan.grad_clip;
  o.label = plan.label;
  return o;
}

}  // namespace

Session start_session(const CommonOptions& options) {
  Session session{setup_runtime(options), nullptr};
  const DistributedOptions distributed = distributed_options_from_environment();
  torch::Device& device = session.runtime.device;
  if (distributed.launched && device.is_cuda()) device = torch::Device(torch::kCUDA, distributed.local_rank);
  session.group = Distributed::create(distributed, device);
  if (session.group->active() && session.group->main())
    std::fprintf(stderr, "data-parallel: %lld processes, %s on %s\n",
                 static_cast<long long>(session.group->world_size()), session.group->backend().c_str(),
                 device.str().c_str());
  return session;
}

int run_recipe(Recipe& recipe, const TrainingOptions& options, const Session& session) {
  const RecipePlan plan = recipe.plan();
  Distributed& group = *session.group;
  const RunDir run = open_run_dir(options, group);
  const TrainingData data = recipe.training_data(run);
  const data::DataLoader loader(data.dataset, loader_options(options, session, data.dataset->size()), data.transform);
  const std::unique_ptr<torch::optim::Optimizer> optimizer = recipe.optimizer(options.lr);
  const int64_t per_epoch = loader.batches_per_epoch();
  const TrainerOptions trainer_options = trainer_options_for(options, plan, per_epoch, session.runtime.device);
  const int64_t total = trainer_options.steps;

  Trainer trainer(run, recipe.module(), recipe.checkpoint_config(), *optimizer, loader, trainer_options);
  trainer.set_distributed(session.group);
  std::unique_ptr<Ema> ema;
  if (plan.ema > 0) {
    ema = std::make_unique<Ema>(*recipe.module(), plan.ema);
    trainer.set_ema(ema.get());
  }
  if (options.resume) trainer.resume();
  const double lr = options.lr;
  const auto warmup = static_cast<int64_t>(plan.warmup_epochs * static_cast<double>(per_epoch));
  const bool cosine = plan.cosine_decay;
  trainer.set_lr_schedule([=](int64_t step) {
    return cosine ? cosine_with_warmup(lr, step, warmup, total) : constant_with_warmup(lr, step, warmup);
  });

  const RunContext context{run, ema.get(), per_epoch, total};
  recipe.start(context);
  ReportCadence cadence(plan.reports, per_epoch, total);
  // Decided once per step, in the hook every rank runs first (a budget's clock is rank 0's
  // to read: recipes with a budget evaluate nothing across the group).
  bool reporting = false;
  trainer.on_evaluate([&](int64_t step) {
    reporting = cadence.due(step);
    if (!reporting) return;
    cadence.report_started();
    recipe.evaluate(context, step);
    if (!group.main()) cadence.report_finished();  // rank 0 finishes after writing the report
  });
  trainer.on_checkpoint([&](int64_t step, MetricsLog& log) {
    if (!reporting) return;
    Json record = {{"step", step}, {"epoch", static_cast<double>(step) / static_cast<double>(per_epoch)}};
    recipe.report(context, step, record);
    log.write(record);
    cadence.report_finished();
  });
  trainer.run([&](const data::Batch& batch, int64_t step) { return recipe.loss(batch, step); });

  // Only rank 0 keeps the results (it writes the reports).
  if (group.main()) {
    const std::string summary = recipe.summary();
    std::printf("%s%srun directory %s\n", summary.c_str(), summary.empty() ? "" : "; ", run.path().c_str());
  }
  return 0;
}

}  // namespace zoo::train
