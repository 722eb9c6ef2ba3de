#include "train/diffusion_recipe.h"

#include <filesystem>

#include "core/cli.h"
#include "core/error.h"
#include "data/spec.h"
#include "models/diffusion/generate.h"
#include "models/diffusion/reflow_pairs.h"
#include "train/adam.h"
#include "train/sample_metrics.h"
#include "train/sample_picture.h"
#include "weights/safetensors.h"
#include "weights/state_dict.h"

namespace zoo::train {

namespace dm = zoo::diffusion;

namespace {

// The model to train for plain data: the network sized for the data, preconditioned for
// the objective.
dm::DiffusionModelConfig config_for_data(const DiffusionOptions& o, const data::Dataset& dataset) {
  const auto& info = dataset.info();
  dm::DiffusionModelConfig c;
  c.shape = info.shape;
  c.net = o.net == "auto" ? (info.is_image() ? "unet" : "mlp") : o.net;
  Json net_config = key_value_overrides(o.set);
  if (o.classes && info.num_classes() < 2)
    throw Error("--classes: the data " + o.data + " has no class labels", ErrorKind::usage);
  if (o.classes) {
    net_config["num_classes"] = info.num_classes();
    net_config["label_dropout"] = o.label_dropout;
  }
  c.precond.kind = dm::parse_parameterization(o.objective);
  if (c.net == "unet") {
    if (!info.is_image() || info.shape[1] != info.shape[2])
      throw Error("--net unet needs square images, the data has shape " + c10::str(info.shape), ErrorKind::usage);
    net_config["in_channels"] = info.shape[0];
    net_config["resolution"] = info.shape[1];
    c.symmetric_images = true;  // [−1, 1], σ_data = 0.5
  } else {
    if (info.shape.size() != 1)
      throw Error("--net mlp needs vector data, the data has shape " + c10::str(info.shape), ErrorKind::usage);
    net_config["features"] = info.shape[0];
    c.precond.sigma_data = data::stack_inputs(dataset, 10000).std().item<double>();
  }
  c.net_config = net_config;
  return c;
}

// Sends rank 0's pairs to the other ranks, shapes first, so they need no shared filesystem.
void broadcast_pairs(dm::ReflowPairs& pairs, Distributed& group) {
  torch::Tensor header = torch::zeros({8}, torch::kLong);  // [dims, labelled, ...shape]
  if (group.main()) {
    header[0] = pairs.samples.dim(), header[1] = pairs.labels.defined() ? 1 : 0;
    for (int64_t d = 0; d < pairs.samples.dim(); ++d) header[2 + d] = pairs.samples.size(d);
  }
  group.broadcast({header}, 0);
  if (!group.main()) {
    const std::vector<int64_t> shape(header.data_ptr<int64_t>() + 2,
                                     header.data_ptr<int64_t>() + 2 + header[0].item<int64_t>());
    pairs.noise = torch::empty(shape), pairs.samples = torch::empty(shape);
    if (header[1].item<int64_t>() != 0) pairs.labels = torch::empty({shape[0]}, torch::kLong);
  }
  std::vector<torch::Tensor> tensors{pairs.noise, pairs.samples};
  if (pairs.labels.defined()) tensors.push_back(pairs.labels);
  group.broadcast(tensors, 0);
}

}  // namespace

DiffusionRecipe::DiffusionRecipe(const DiffusionOptions& options, const Session& session)
    : options_(options), session_(session), data_spec_(options.data) {
  const dm::Parameterization kind = dm::parse_parameterization(options.objective);
  if (options.distill_steps > 0 && options.reflow_from.empty())
    throw Error("--distill-steps needs --reflow-from (distillation trains on its pairs)", ErrorKind::usage);
  if (!options.reflow_from.empty() && kind != dm::Parameterization::rf)
    throw Error("--reflow-from trains a rectified flow: use --objective rf", ErrorKind::usage);

  // The model: a fresh one sized for the data, or for reflow the source's network (and,
  // when the source is itself a rectified flow, its weights: Liu et al. start the k-th
  // rectified flow from the (k−1)-th).
  if (!options.reflow_from.empty()) {
    source_ = load_diffusion(options.reflow_from, /*ema=*/true);
    source_->model->net()->to(session.runtime.device);
    dm::DiffusionModelConfig config = source_->model->config();
    config.precond.kind = kind;
    model_.emplace(config);
    if (source_->objective == "rf")
      weights::load_state_dict(*model_->net(), weights::state_dict(*source_->model->net()));
    classes_ = source_->classes;
    data_spec_ = source_->data;
  } else {
    train_data_ = data::open_dataset(options.data, data::Split::train, options.limit);
    model_.emplace(config_for_data(options, *train_data_));
    classes_ = train_data_->info().classes;
  }
  model_->net()->to(session.runtime.device);

  dm::LossOptions loss;
  loss.objective = kind;
  loss.p_mean = options.p_mean;
  loss.p_std = options.p_std;
  loss.rf_time = options.time_sampling;
  loss.distill_steps = options.distill_steps;
  loss_.emplace(loss, model_->config().precond, session.runtime.seed);

  const std::vector<int64_t>& shape = model_->config().shape;
  if (shape == std::vector<int64_t>{2})
    test_points_ = data::stack_inputs(*data::open_dataset(data_spec_, data::Split::test, 0));
}

RecipePlan DiffusionRecipe::plan() const {
  RecipePlan plan;
  plan.label = "train " + model_->config().net + " " + options_.objective;
  plan.grad_clip = options_.grad_clip;
  plan.ema = options_.ema;
  plan.warmup_epochs = options_.warmup_epochs;
  plan.cosine_decay = options_.lr_decay == "cosine";
  // Unless asked for every N epochs, periodic samples take at most 10% of the training time
  // (4,000 toy points with Heun every epoch made a run 5-10x slower than training alone).
  if (options_.sample_every > 0)
    plan.reports.every = options_.sample_every;
  else
    plan.reports.budget = 0.1;
  return plan;
}

Json DiffusionRecipe::checkpoint_config() const {
  return diffusion_checkpoint_config(*model_, options_.objective, classes_, data_spec_);
}

// Reflow's pairs are drawn once and kept in the run directory, so a resumed run trains on
// the same pairs; in a data-parallel run rank 0 draws (or reads) them and sends them on.
TrainingData DiffusionRecipe::training_data(const RunDir& run) {
  if (!reflow()) return {train_data_, nullptr};
  Distributed& group = *session_.group;
  const std::string path = run.path() + "/pairs.safetensors";
  dm::ReflowPairs pairs;
  if (group.main() && std::filesystem::exists(path)) {
    const weights::SafeTensors stored = weights::read_safetensors(path);
    pairs.noise = stored.at("noise");
    pairs.samples = stored.at("samples");
    if (const torch::Tensor* labels = stored.find("labels")) pairs.labels = *labels;
  } else if (group.main()) {
    dm::ReflowPairOptions o;
    o.pairs = options_.pairs;
    o.sampler = options_.pair_sampler;
    o.schedule = dm::default_schedule(source_->objective, options_.pair_steps);
    o.seed = session_.runtime.seed;
    o.device = session_.runtime.device;
    pairs = dm::draw_reflow_pairs(*source_->model, o);
    weights::NamedTensors tensors{{"noise", pairs.noise}, {"samples", pairs.samples}};
    if (pairs.labels.defined()) tensors.emplace_back("labels", pairs.labels);
    weights::write_safetensors(path, tensors);
  }
  if (group.active()) broadcast_pairs(pairs, group);
  // An example is a pair [2, ...]: its noise, then its sample.
  data::DatasetInfo info;
  info.name = "reflow pairs of " + options_.reflow_from;
  info.shape = {2};
  for (int64_t d = 1; d < pairs.samples.dim(); ++d) info.shape.push_back(pairs.samples.size(d));
  info.classes = source_->classes;
  return {std::make_shared<data::TensorDataset>(info, torch::stack({pairs.noise, pairs.samples}, 1), pairs.labels),
          nullptr};
}

std::unique_ptr<torch::optim::Optimizer> DiffusionRecipe::optimizer(double lr) {
  return std::make_unique<AdamW>(model_->net()->parameters(), torch::optim::AdamWOptions(lr).weight_decay(0));
}

torch::Tensor DiffusionRecipe::loss(const data::Batch& batch, int64_t step) {
  const torch::Device& device = session_.runtime.device;
  const torch::Tensor inputs = batch.inputs.to(device);
  const torch::Tensor labels = model_->num_classes() > 0 ? batch.labels.to(device) : torch::Tensor();
  if (reflow())
    return (*loss_)(model_->network(), inputs.select(1, 1), batch.indices, step, labels, inputs.select(1, 0));
  return (*loss_)(model_->network(), model_->to_model_space(inputs), batch.indices, step, labels);
}

void DiffusionRecipe::report(const RunContext& context, int64_t step, Json& record) {
  dm::GenerateOptions g;
  g.schedule = dm::default_schedule(options_.objective, options_.sample_steps);
  g.sampler_options.seed = session_.runtime.seed;
  g.device = session_.runtime.device;
  const int64_t n = samples_per_picture(options_.sample_n, test_points_.defined());
  const torch::Tensor labels =
      model_->num_classes() > 0 ? torch::arange(n, torch::kLong) % model_->num_classes() : torch::Tensor();
  const dm::Generated generated = with_ema_weights(context.ema, [&] { return dm::generate(*model_, n, labels, g); });
  model_->net()->train();
  const torch::Tensor samples = model_->to_data_space(generated.samples);
  record["samples"] =
      save_samples_picture(step_picture_path(context.run, "step", step), samples, "step " + std::to_string(step));
  if (test_points_.defined()) record["swd"] = sliced_wasserstein(samples, test_points_);
}

}  // namespace zoo::train
