// train_diffusion: trains a diffusion model or a rectified flow in the EDM framework
// (VP, VE, EDM or flow-matching objective) with an MLP for vectors or a U-Net for images,
// on any data spec. Also trains the second rectified flow on (noise, sample) pairs of a
// first one (reflow), and distils it into a K-step sampler.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/cli.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/seed.h"
#include "data/spec.h"
#include "models/diffusion/generate.h"
#include "models/diffusion/loss.h"
#include "train/adam.h"
#include "train/diffusion_io.h"
#include "train/sample_metrics.h"
#include "train/sample_picture.h"
#include "train/trainer.h"
#include "weights/safetensors.h"
#include "weights/state_dict.h"

using namespace zoo;
namespace dm = zoo::diffusion;

namespace {

Cli make_cli() {
  Cli cli("train_diffusion", "Train a diffusion model or rectified flow (EDM framework: edm, vp, ve, rf objectives)");
  cli.common()
      .training({"toy:checkerboard", "", 256, 1e-3})
      .text("objective", "edm, vp, ve or rf (rectified flow / flow matching)", "edm")
      .text("net", "unet or mlp (auto: unet for images, mlp for vectors)", "auto")
      .texts("set", "network config overrides KEY=VALUE (e.g. channels=64, hidden=512, channel_mult=[1,2])")
      .flag("classes", "condition on the data's class labels (with label dropout, for classifier-free guidance)")
      .real("label-dropout", "probability of training a conditional model without its label", 0.1)
      .real("ema", "weight EMA decay (0 = off); samples use the EMA weights", 0.999)
      .real("warmup-epochs", "epochs of linear learning-rate warmup", 0.2)
      .text("lr-decay", "cosine or none (constant after warmup, as EDM)", "cosine")
      .real("grad-clip", "maximum gradient norm (0 = off)", 1.0)
      .real("p-mean", "edm: mean of ln σ in training", -1.2)
      .real("p-std", "edm: standard deviation of ln σ in training", 1.2)
      .text("time-sampling", "rf: uniform or logit_normal training times", "uniform")
      .integer("sample-every", "epochs between sample pictures (and, for 2-D data, the SWD to test data)", 1)
      .integer("sample-n", "samples per picture (0 = 64 images or 4000 points)", 0)
      .integer("sample-steps", "heun steps for those samples", 18)
      .text("reflow-from", "train a rectified flow on (noise, sample) pairs of this checkpoint (run dir or file)", "")
      .integer("pairs", "reflow: number of (noise, sample) pairs to draw", 10000)
      .text("pair-sampler",
            "reflow: the sampler that solves the ODE for the pairs (" + diffusion::samplers().names_text() + ")",
            "rk45")
      .integer("pair-steps", "reflow: steps of a fixed-step pair sampler", 100)
      .integer("distill-steps", "with --reflow-from: train only at the K times of a K-step Euler sampler (0 = off)", 0);
  return cli;
}

// The model to train for plain data: the network sized for the data, preconditioned for
// the objective.
dm::DiffusionModelConfig config_for_data(const Json& o, const data::Dataset& dataset) {
  const auto& info = dataset.info();
  dm::DiffusionModelConfig c;
  c.shape = info.shape;
  std::string net = o["net"];
  if (net == "auto") net = info.is_image() ? "unet" : "mlp";
  c.net = net;
  Json net_config = key_value_overrides(o["set"]);
  const bool conditional = o["classes"];
  if (conditional && info.num_classes() < 2)
    throw Error("--classes: the data " + o["data"].get<std::string>() + " has no class labels", ErrorKind::usage);
  if (conditional) {
    net_config["num_classes"] = info.num_classes();
    net_config["label_dropout"] = o["label_dropout"];
  }
  c.precond.kind = dm::parse_parameterization(o["objective"]);
  if (net == "unet") {
    if (!info.is_image() || info.shape[1] != info.shape[2])
      throw Error("--net unet needs square images, the data has shape " + c10::str(info.shape), ErrorKind::usage);
    net_config["in_channels"] = info.shape[0];
    net_config["resolution"] = info.shape[1];
    c.symmetric_images = true;  // [−1, 1], σ_data = 0.5
  } else if (net == "mlp") {
    if (info.shape.size() != 1)
      throw Error("--net mlp needs vector data, the data has shape " + c10::str(info.shape), ErrorKind::usage);
    net_config["features"] = info.shape[0];
    c.precond.sigma_data = data::stack_inputs(dataset, 10000).std().item<double>();
  }
  c.net_config = net_config;
  return c;
}

// Reflow: the (noise, sample) pairs of the source model, drawn once and kept in the run
// directory so a resumed run trains on the same pairs. In a data-parallel run rank 0 draws
// (or reads) them and broadcasts them, so the other machines need no shared filesystem.
data::DatasetPtr reflow_pairs(const Json& o, const train::LoadedDiffusion& source, const RunDir& run,
                              const Runtime& runtime, Distributed& group) {
  const std::string path = run.path() + "/pairs.safetensors";
  torch::Tensor noise, samples, labels;
  if (group.main() && std::filesystem::exists(path)) {
    const weights::SafeTensors stored = weights::read_safetensors(path);
    noise = stored.at("noise");
    samples = stored.at("samples");
    if (const torch::Tensor* stored_labels = stored.find("labels")) labels = *stored_labels;
  } else if (group.main()) {
    const int64_t n = o["pairs"];
    dm::GenerateOptions g;
    g.sampler = o["pair_sampler"];
    g.schedule = dm::default_schedule(source.objective, o["pair_steps"]);
    g.sampler_options.seed = runtime.seed;
    g.device = runtime.device;
    const int64_t classes = source.model->num_classes();
    if (classes > 0) labels = torch::arange(n, torch::kLong) % classes;
    std::fprintf(stderr, "reflow: drawing %lld pairs with %s ...\n", static_cast<long long>(n), g.sampler.c_str());
    const dm::Generated pairs = dm::generate(*source.model, n, labels, g);
    std::fprintf(stderr, "reflow: %lld NFE per pair, %.1f s\n", static_cast<long long>(pairs.nfe), pairs.seconds);
    noise = pairs.noise.cpu();
    samples = pairs.samples.cpu();
    weights::NamedTensors t{{"noise", noise}, {"samples", samples}};
    if (labels.defined()) t.emplace_back("labels", labels);
    weights::write_safetensors(path, t);
  }
  if (group.active()) {
    // Shape first ([pairs, ...example shape], whether there are labels), then the tensors.
    torch::Tensor header = torch::zeros({8}, torch::kLong);
    if (group.main()) {
      header[0] = samples.dim(), header[1] = labels.defined() ? 1 : 0;
      for (int64_t d = 0; d < samples.dim(); ++d) header[2 + d] = samples.size(d);
    }
    group.broadcast({header}, 0);
    if (!group.main()) {
      const std::vector<int64_t> shape(header.data_ptr<int64_t>() + 2,
                                       header.data_ptr<int64_t>() + 2 + header[0].item<int64_t>());
      noise = torch::empty(shape), samples = torch::empty(shape);
      if (header[1].item<int64_t>() != 0) labels = torch::empty({shape[0]}, torch::kLong);
    }
    std::vector<torch::Tensor> pairs{noise, samples};
    if (labels.defined()) pairs.push_back(labels);
    group.broadcast(pairs, 0);
  }
  data::DatasetInfo info;
  info.name = "reflow pairs of " + o["reflow_from"].get<std::string>();
  info.shape = {2};
  for (int64_t d = 1; d < samples.dim(); ++d) info.shape.push_back(samples.size(d));
  info.classes = source.classes;
  return std::make_shared<data::TensorDataset>(info, torch::stack({noise, samples}, 1), labels);
}

int run(int argc, char** argv) {
  const Cli cli = make_cli();
  const Json options = train::parse_training_flags(cli, argc, argv);
  const bool resume = options["resume"];
  Runtime runtime = setup_runtime(options);
  const std::shared_ptr<Distributed> group = train::join_process_group(runtime);

  const std::string objective = options["objective"];
  const dm::Parameterization kind = dm::parse_parameterization(objective);
  const bool reflow = !options["reflow_from"].get<std::string>().empty();
  const int64_t distill = options["distill_steps"];
  if (distill < 0) throw Error("--distill-steps must be 0 or positive", ErrorKind::usage);
  if (distill > 0 && !reflow)
    throw Error("--distill-steps needs --reflow-from (distillation trains on its pairs)", ErrorKind::usage);
  if (reflow && kind != dm::Parameterization::rf)
    throw Error("--reflow-from trains a rectified flow: use --objective rf", ErrorKind::usage);
  if (options["sample_every"].get<int64_t>() < 1) throw Error("--sample-every must be at least 1", ErrorKind::usage);
  dm::LossOptions loss;
  loss.objective = kind;
  loss.p_mean = options["p_mean"];
  loss.p_std = options["p_std"];
  loss.rf_time = options["time_sampling"];
  if (loss.rf_time != "uniform" && loss.rf_time != "logit_normal")
    throw Error("--time-sampling " + loss.rf_time + ": expected uniform or logit_normal", ErrorKind::usage);

  // The model: a fresh one sized for the data, or for reflow the source's network (and,
  // when the source is itself a rectified flow, its weights: Liu et al. start the k-th
  // rectified flow from the (k−1)-th). Everything is checked before the run directory is
  // created.
  data::DatasetPtr train_data;
  std::optional<dm::DiffusionModel> model;
  std::optional<train::LoadedDiffusion> source;
  std::vector<std::string> classes;
  std::string data_spec = options["data"];
  if (reflow) {
    source = train::load_diffusion(options["reflow_from"], /*ema=*/true);
    source->model->net()->to(runtime.device);
    dm::DiffusionModelConfig config = source->model->config();
    config.precond.kind = kind;
    model.emplace(config);
    if (source->objective == "rf") weights::load_state_dict(*model->net(), weights::state_dict(*source->model->net()));
    classes = source->classes;
    data_spec = source->data;
  } else {
    train_data = data::open_dataset(options["data"], data::Split::train, options["limit"]);
    model.emplace(config_for_data(options, *train_data));
    classes = train_data->info().classes;
  }

  RunDir run = train::open_run_dir(options, *group);
  if (reflow) train_data = reflow_pairs(options, *source, run, runtime, *group);
  const bool conditional = model->num_classes() > 0;
  auto& net = *model->net();
  net.to(runtime.device);
  const Json model_config = train::diffusion_checkpoint_config(*model, objective, classes, data_spec);

  const data::DataLoader loader(train_data,
                                train::training_loader_options(options, runtime.seed, train_data->size(), *group));

  train::AdamW optimizer(net.parameters(), torch::optim::AdamWOptions(options["lr"].get<double>()).weight_decay(0));
  const int64_t per_epoch = loader.batches_per_epoch();
  train::TrainerOptions trainer_options = train::epoch_trainer_options(options, per_epoch, runtime.device);
  trainer_options.grad_clip = options["grad_clip"];
  trainer_options.label = "train " + model->config().net + " " + objective;
  train::Trainer trainer(run, model->net(), model_config, optimizer, loader, trainer_options);
  trainer.set_distributed(group);
  const std::unique_ptr<train::Ema> ema = train::attach_ema(trainer, net, options["ema"]);
  if (resume) trainer.resume();

  const double lr = options["lr"];
  const int64_t total = trainer_options.steps;
  const int64_t warmup = static_cast<int64_t>(options["warmup_epochs"].get<double>() * static_cast<double>(per_epoch));
  const std::string decay = options["lr_decay"];
  if (decay != "cosine" && decay != "none")
    throw Error("--lr-decay " + decay + ": expected cosine or none", ErrorKind::usage);
  trainer.set_lr_schedule([=](int64_t step) {
    return decay == "cosine" ? train::cosine_with_warmup(lr, step, warmup, total)
                             : train::constant_with_warmup(lr, step, warmup);
  });

  // Pictures (and for 2-D data the sliced Wasserstein distance to the test split) from
  // the EMA weights, every --sample-every epochs and at the end.
  const bool points = model->config().shape.size() == 1 && model->config().shape[0] == 2;
  const torch::Tensor test_points =
      points ? data::stack_inputs(*data::open_dataset(data_spec, data::Split::test, 0)) : torch::Tensor();
  const int64_t sample_n =
      options["sample_n"].get<int64_t>() > 0 ? options["sample_n"].get<int64_t>() : (points ? 4000 : 64);
  trainer.on_checkpoint([&](int64_t step, MetricsLog& log) {
    const int64_t epoch = step / per_epoch;
    if (step < total && epoch % options["sample_every"].get<int64_t>() != 0) return;
    dm::GenerateOptions g;
    g.schedule = dm::default_schedule(objective, options["sample_steps"]);
    g.sampler_options.seed = runtime.seed;
    g.device = runtime.device;
    const torch::Tensor labels =
        conditional ? torch::arange(sample_n, torch::kLong) % model->num_classes() : torch::Tensor();
    const dm::Generated generated =
        train::with_ema_weights(ema.get(), [&] { return dm::generate(*model, sample_n, labels, g); });
    net.train();
    const torch::Tensor samples = model->to_data_space(generated.samples);
    char file[64];
    std::snprintf(file, sizeof file, "step_%08lld.png", static_cast<long long>(step));
    const std::string written =
        train::save_samples_picture(run.sample_path(file), samples, "step " + std::to_string(step));
    Json record = {
        {"step", step}, {"epoch", static_cast<double>(step) / static_cast<double>(per_epoch)}, {"samples", written}};
    if (test_points.defined()) record["swd"] = train::sliced_wasserstein(samples, test_points);
    log.write(record);
  });

  const torch::Tensor sigma_grid =
      distill > 0 ? dm::make_sigmas(dm::default_schedule("rf", distill)).slice(0, 0, distill).to(torch::kFloat)
                  : torch::Tensor();
  const dm::Network network = model->network();
  trainer.run([&](const data::Batch& batch, int64_t step) {
    const torch::Tensor inputs = batch.inputs.to(runtime.device);
    // Noise and noise level per example, from (seed, step, example): a data-parallel run
    // draws exactly what one process with the whole batch would.
    const uint64_t step_seed =
        derive_seed(runtime.seed, static_cast<uint64_t>(Stream::noise), static_cast<uint64_t>(step));
    const torch::Tensor u = indexed_rand({}, step_seed, Stream::level, batch.indices, runtime.device);
    torch::Tensor y, noise;
    if (reflow) {
      noise = inputs.select(1, 0);
      y = inputs.select(1, 1);
    } else {
      y = model->to_model_space(inputs);
      noise = indexed_randn(y.sizes().slice(1), step_seed, Stream::noise, batch.indices, runtime.device)
                  .to(y.scalar_type());
    }
    const torch::Tensor sigma =
        distill > 0 ? sigma_grid.to(runtime.device)
                          .index_select(0, (u * distill).floor().to(torch::kLong).clamp_max(distill - 1))
                    : dm::sigma_from_uniform(loss, model->config().precond, u);
    const torch::Tensor labels = conditional ? batch.labels.to(runtime.device) : torch::Tensor();
    return dm::diffusion_loss(loss, model->config().precond, network, y, noise, sigma, labels);
  });
  std::printf("run directory %s; samples in %s\n", run.path().c_str(), run.samples_dir().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
