// train_flow: trains NICE, RealNVP or Glow by maximum likelihood on any dataset spec
// (images or vectors). Each epoch it writes the training and test negative
// log-likelihood (bits/dim for images, nats for vectors) to metrics.jsonl, a sample grid
// or scatter to samples/, and a checkpoint; --resume continues a run exactly.
#include <cstdio>

#include "core/cli.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/seed.h"
#include "data/spec.h"
#include "models/flows/flow_model.h"
#include "train/adam.h"
#include "train/flow_io.h"
#include "train/sample_metrics.h"
#include "train/sample_picture.h"
#include "train/trainer.h"

using namespace zoo;

namespace {

Cli make_cli() {
  Cli cli("train_flow", "Train a normalizing flow (NICE, RealNVP, Glow) by maximum likelihood");
  cli.common()
      .training({"toy:moons", "glow", 64, 1e-3})
      .texts("set", "model option overrides KEY=VALUE (e.g. steps=16, hidden=512, levels=3)")
      .text("preprocessing", "auto, unit, center or logit (images), none (vectors)", "auto")
      .real("logit-alpha", "α of the logit preprocessing", 0.05)
      .real("warmup-epochs", "epochs of linear learning-rate warmup", 0.2)
      .real("grad-clip", "maximum gradient norm (0 = off)", 50)
      .real("temperature", "temperature of the sample pictures", 1.0)
      .integer("sample-every", "epochs between sample pictures and test evaluations", 1)
      .integer("sample-n", "samples per picture (0 = 64 images or 4000 points)", 0)
      .integer("eval-limit", "evaluate on the first N test examples only (0 = all)", 0);
  return cli;
}

int run(int argc, char** argv) {
  const Cli cli = make_cli();
  const Json options = train::parse_training_flags(cli, argc, argv);
  const bool resume = options["resume"];
  Runtime runtime = setup_runtime(options);
  const std::shared_ptr<Distributed> group = train::join_process_group(runtime);
  if (options["sample_every"].get<int64_t>() < 1) throw Error("--sample-every must be at least 1", ErrorKind::usage);
  if (options["precision"] == "bf16")
    throw Error("--precision bf16: flows train in float32 (log-determinants need it)", ErrorKind::usage);
  const double temperature = options["temperature"];
  if (!(temperature > 0)) throw Error("--temperature must be positive", ErrorKind::usage);

  const std::string data_spec = options["data"];
  const data::DatasetPtr train_data = data::open_dataset(data_spec, data::Split::train, options["limit"]);
  const data::DatasetPtr test_data = data::open_dataset(data_spec, data::Split::test, options["eval_limit"]);
  flows::FlowModelConfig config;
  config.model = options["model"];
  config.options = key_value_overrides(options["set"]);
  config.shape = train_data->info().shape;
  config.preprocessing = options["preprocessing"];
  config.logit_alpha = options["logit_alpha"];
  flows::FlowModel model(config);
  model->to(runtime.device);

  RunDir run = train::open_run_dir(options, *group);
  const Json model_config = train::flow_checkpoint_config(*model, train_data->info().classes, data_spec);

  const data::DataLoader loader(train_data,
                                train::training_loader_options(options, runtime.seed, train_data->size(), *group));

  train::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options["lr"].get<double>()));
  const int64_t per_epoch = loader.batches_per_epoch();
  train::TrainerOptions trainer_options = train::epoch_trainer_options(options, per_epoch, runtime.device);
  trainer_options.grad_clip = options["grad_clip"];
  trainer_options.autocast = false;  // log-determinants need float32
  trainer_options.label = "train " + config.model;
  train::Trainer trainer(run, model.ptr(), model_config, optimizer, loader, trainer_options);
  trainer.set_distributed(group);
  if (resume) trainer.resume();

  const double lr = options["lr"];
  const int64_t total = trainer_options.steps;
  const int64_t warmup = static_cast<int64_t>(options["warmup_epochs"].get<double>() * static_cast<double>(per_epoch));
  trainer.set_lr_schedule([=](int64_t step) { return train::constant_with_warmup(lr, step, warmup); });

  // Test likelihood and samples each --sample-every epochs and at the end. The pictures'
  // noise comes from the global generator, whose state is put back afterwards so that a
  // resumed run continues exactly as this one does.
  const bool points = model->config().shape.size() == 1 && model->config().shape[0] == 2;
  const torch::Tensor test_points = points ? data::stack_inputs(*test_data) : torch::Tensor();
  const int64_t sample_n =
      options["sample_n"].get<int64_t>() > 0 ? options["sample_n"].get<int64_t>() : (points ? 4000 : 64);
  const char* unit = model->images() ? "bits/dim" : "nats";
  const auto due = [&](int64_t step) {
    return step == total || (step / per_epoch) % options["sample_every"].get<int64_t>() == 0;
  };
  train::FlowEvaluation test;
  trainer.on_evaluate([&](int64_t step) {
    if (due(step)) test = train::evaluate_flow(*model, *test_data, runtime.seed, 256, *group);
  });
  trainer.on_checkpoint([&](int64_t step, MetricsLog& log) {
    if (!due(step)) return;
    Json record = {{"step", step},
                   {"epoch", static_cast<double>(step) / static_cast<double>(per_epoch)},
                   {"test_nll", test.nll},
                   {"unit", unit}};
    const torch::Tensor rng = cpu_rng_state();
    torch::manual_seed(static_cast<int64_t>(derive_seed(runtime.seed, static_cast<uint64_t>(Stream::latent), 0)));
    model->eval();
    torch::Tensor samples;
    {
      torch::NoGradGuard no_grad;
      samples = model->sample(sample_n, temperature).cpu();
    }
    model->train();
    set_cpu_rng_state(rng);
    char file[64];
    std::snprintf(file, sizeof file, "step_%08lld.png", static_cast<long long>(step));
    record["samples"] = train::save_samples_picture(run.sample_path(file), samples, "step " + std::to_string(step));
    if (test_points.defined()) record["swd"] = train::sliced_wasserstein(samples, test_points);
    std::fprintf(stderr, "step %lld: test %.4f %s\n", static_cast<long long>(step), test.nll, unit);
    log.write(record);
  });

  trainer.run([&](const data::Batch& batch, int64_t) { return model->loss(batch.inputs.to(runtime.device)); });
  std::printf("run directory %s; samples in %s\n", run.path().c_str(), run.samples_dir().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
