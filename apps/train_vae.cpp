// train_vae: a variational autoencoder with a Gaussian latent (reparameterisation) or a
// categorical one (Gumbel-softmax, temperature annealed as in Jang et al. 2017) on binarised
// images. Each epoch it writes the test ELBO (nats, exact one-hot samples for the
// categorical latent) to metrics.jsonl, and reconstructions and samples to samples/.
#include <cstdio>

#include "core/cli.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/seed.h"
#include "data/spec.h"
#include "models/nn/eval_mode.h"
#include "models/nn/reparam.h"
#include "train/adam.h"
#include "train/sample_picture.h"
#include "train/trainer.h"
#include "train/vae_evaluation.h"

using namespace zoo;

namespace {

Cli make_cli() {
  Cli cli("train_vae", "Train a VAE with a Gaussian or a Gumbel-softmax categorical latent");
  cli.common()
      .training({"fashion-mnist", "", 128, 1e-3})
      .text("latent", "gaussian or categorical", "gaussian")
      .integer("latent-dim", "Gaussian latent dimensions", 32)
      .integer("variables", "categorical latent: one-hot variables", 30)
      .integer("categories", "categorical latent: classes per variable", 10)
      .integer("hidden", "units per encoder/decoder layer", 512)
      .integer("layers", "hidden layers of encoder and decoder", 2)
      .text("activation", "activation of the hidden layers (models/nn/activations.h names)", "relu")
      .real("tau", "initial Gumbel-softmax temperature", 1.0)
      .real("tau-min", "final temperature", 0.5)
      .real("tau-rate", "annealing rate: tau = max(tau-min, tau·exp(−rate·step))", 1e-4)
      .integer("eval-limit", "evaluate on the first N test examples only (0 = all)", 0);
  return cli;
}

std::string picture_name(const char* what, int64_t step) {
  char file[64];
  std::snprintf(file, sizeof file, "%s_%08lld.png", what, static_cast<long long>(step));
  return file;
}

int run(int argc, char** argv) {
  const Cli cli = make_cli();
  const Json options = train::parse_training_flags(cli, argc, argv);
  const bool resume = options["resume"];
  Runtime runtime = setup_runtime(options);
  const std::shared_ptr<Distributed> group = train::join_process_group(runtime);

  const std::string data_spec = options["data"];
  const data::DatasetPtr train_data = data::open_dataset(data_spec, data::Split::train, options["limit"]);
  const data::DatasetPtr test_data = data::open_dataset(data_spec, data::Split::test, options["eval_limit"]);
  if (!train_data->info().is_image())
    throw Error("--data " + data_spec + ": train_vae models images", ErrorKind::usage);

  models::VaeOptions vae_options;
  vae_options.shape = train_data->info().shape;
  vae_options.latent = options["latent"];
  vae_options.latent_dim = options["latent_dim"];
  vae_options.variables = options["variables"];
  vae_options.categories = options["categories"];
  vae_options.hidden = options["hidden"];
  vae_options.layers = options["layers"];
  vae_options.activation = options["activation"];
  models::Vae vae(vae_options);
  vae->to(runtime.device);
  const models::TemperatureSchedule temperature{options["tau"], options["tau_min"], options["tau_rate"]};
  if (!(temperature.initial > 0 && temperature.minimum > 0 && temperature.rate >= 0))
    throw Error("--tau and --tau-min must be positive, --tau-rate at least 0", ErrorKind::usage);
  const Json model_config = {
      {"model", "vae"}, {"config", fields_to_json(vae_options)}, {"classes", train_data->info().classes}};

  RunDir run = train::open_run_dir(options, *group);
  const data::DataLoader loader(train_data,
                                train::training_loader_options(options, runtime.seed, train_data->size(), *group));
  train::Adam optimizer(vae->parameters(), torch::optim::AdamOptions(options["lr"].get<double>()));
  const int64_t per_epoch = loader.batches_per_epoch();
  train::TrainerOptions trainer_options = train::epoch_trainer_options(options, per_epoch, runtime.device);
  trainer_options.autocast = false;
  trainer_options.label = "train vae " + vae_options.latent;
  train::Trainer trainer(run, vae.ptr(), model_config, optimizer, loader, trainer_options);
  trainer.set_distributed(group);
  if (resume) trainer.resume();

  const torch::Tensor test_binary = train::fixed_binarization(*test_data, runtime.seed);
  const torch::Tensor originals = test_binary.narrow(0, 0, std::min<int64_t>(32, test_binary.size(0)));
  train::VaeEvaluation test;
  trainer.on_evaluate([&](int64_t) { test = train::evaluate_vae(vae, test_binary, runtime.seed, *group); });
  trainer.on_checkpoint([&](int64_t step, MetricsLog& log) {
    Json record = {{"step", step},           {"epoch", static_cast<double>(step) / static_cast<double>(per_epoch)},
                   {"test_elbo", test.elbo}, {"test_reconstruction", test.reconstruction},
                   {"test_kl", test.kl},     {"temperature", temperature.at(step)}};
    // Pictures from the run's own latent stream; the global generator is put back after.
    const torch::Tensor rng = cpu_rng_state();
    torch::manual_seed(static_cast<int64_t>(derive_seed(runtime.seed, static_cast<uint64_t>(Stream::latent), 0)));
    torch::Tensor samples, pairs;
    {
      torch::NoGradGuard no_grad;
      const models::EvalMode eval(*vae);
      samples = vae->sample(64).cpu();
      // Each test image beside its reconstruction.
      pairs = torch::stack({originals, vae->reconstruct(originals.to(runtime.device)).cpu()}, 1).flatten(0, 1);
    }
    set_cpu_rng_state(rng);
    record["samples"] = train::save_samples_picture(run.sample_path(picture_name("samples", step)), samples, "samples");
    record["reconstructions"] = train::save_samples_picture(run.sample_path(picture_name("reconstructions", step)),
                                                            pairs, "test | reconstruction");
    std::fprintf(stderr, "\nstep %lld: test ELBO %.2f nats (reconstruction %.2f, KL %.2f)\n",
                 static_cast<long long>(step), test.elbo, test.reconstruction, test.kl);
    log.write(record);
  });

  trainer.run([&](const data::Batch& batch, int64_t step) {
    // Dynamic binarisation (a fresh binary image each time an example is seen) and latent
    // noise, per example from (seed, step, example): a data-parallel run draws the same.
    const uint64_t step_seed =
        derive_seed(runtime.seed, static_cast<uint64_t>(Stream::noise), static_cast<uint64_t>(step));
    const torch::Tensor pixels =
        indexed_rand(batch.inputs.sizes().slice(1), step_seed, Stream::dequantize, batch.indices);
    const torch::Tensor x = pixels.lt(batch.inputs).to(torch::kFloat).to(runtime.device);
    return -vae->elbo(x, temperature.at(step), true, vae->indexed_noise(step_seed, batch.indices)).elbo().mean();
  });
  std::printf("run directory %s; samples in %s\n", run.path().c_str(), run.samples_dir().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
