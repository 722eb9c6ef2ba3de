// Diffusion networks, losses, the assembled model with guidance, generation, and the
// sample-quality metrics.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "models/diffusion/diffusion_model.h"
#include "models/diffusion/generate.h"
#include "models/diffusion/loss.h"
#include "models/diffusion/mlp_net.h"
#include "models/diffusion/unet.h"
#include "support/test_support.h"
#include "train/sample_metrics.h"

using namespace zoo::diffusion;

namespace {

UNetOptions tiny_unet(int64_t resolution, int64_t classes = 0) {
  UNetOptions o;
  o.resolution = resolution;
  o.channels = 8;
  o.channel_mult = {1, 2, 2};
  o.blocks = 1;
  o.attention_resolutions = {(resolution + 1) / 2};
  o.attention_head_channels = 8;
  o.num_classes = classes;
  return o;
}

DiffusionModelConfig mlp_model(Parameterization kind, int64_t classes = 0) {
  DiffusionModelConfig c;
  c.net = "mlp";
  c.net_config = {{"hidden", 64}, {"blocks", 2}, {"num_classes", classes}};
  c.precond.kind = kind;
  c.shape = {2};
  return c;
}

}  // namespace

TEST(UNet, KeepsTheInputShapeAtEvenAndOddSizes) {
  for (int64_t size : {28, 32, 15}) {
    UNet net(tiny_unet(size));
    const torch::Tensor x = torch::randn({2, 1, size, size});
    // The output conv starts at zero (the denoiser starts as c_skip·x) ...
    EXPECT_EQ(net->forward(x, torch::rand({2}), {}).abs().max().item<double>(), 0) << size;
    // ... and once it is not, the output has the input's shape and depends on the noise level.
    for (auto& p : net->parameters()) p.data().normal_(0, 0.1);
    net->eval();
    const torch::Tensor a = net->forward(x, torch::full({2}, 0.1), {}), b = net->forward(x, torch::full({2}, 2.0), {});
    EXPECT_EQ(a.sizes(), x.sizes()) << size;
    EXPECT_FALSE(torch::allclose(a, b)) << size;
  }
}

TEST(UNet, AttentionAndClassEmbeddingAreWhereTheOptionsSay) {
  UNetOptions o = tiny_unet(28, 10);
  o.embedding_kind = "fourier";
  UNet net(o);
  int64_t attention = 0;
  bool frequencies = false, classes = false;
  for (const auto& item : net->named_modules())
    if (std::dynamic_pointer_cast<AttentionBlockImpl>(item.value())) ++attention;
  for (const auto& item : net->named_buffers()) frequencies |= item.key() == "noise_embedding.frequencies";
  for (const auto& item : net->named_parameters()) classes |= item.key().rfind("class_embedding.", 0) == 0;
  // 14×14: one encoder block, two decoder blocks, and the middle's attention.
  EXPECT_EQ(attention, 4);
  EXPECT_TRUE(frequencies);  // Fourier frequencies travel with the weights
  EXPECT_TRUE(classes);
  EXPECT_THROW(UNet(UNetOptions{tiny_unet(28)}).ptr()->forward(torch::randn({1, 3, 28, 28}), torch::rand({1}), {}),
               zoo::Error);
}

TEST(ClassEmbedding, DropsLabelsOnlyInTraining) {
  torch::manual_seed(0);
  ClassEmbedding embedding(3, 4, 0.5);
  const torch::Tensor labels = torch::zeros({2000}, torch::kLong);
  const torch::Tensor none = embedding->forward({}, 1, torch::kCPU);
  embedding->eval();
  EXPECT_TRUE(
      torch::allclose(embedding->forward(labels, 2000, torch::kCPU), embedding->forward(labels, 2000, torch::kCPU)));
  const torch::Tensor unlabelled = embedding->forward(torch::full({1}, -1, torch::kLong), 1, torch::kCPU);
  EXPECT_TRUE(torch::allclose(unlabelled, none));
  embedding->train();
  const torch::Tensor out = embedding->forward(labels, 2000, torch::kCPU);
  const double dropped = (out - none).abs().sum(1).eq(0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(dropped, 0.5, 0.05);
  EXPECT_THROW(embedding->forward(torch::full({1}, 3, torch::kLong), 1, torch::kCPU), zoo::Error);
}

TEST(Loss, TrainingSigmasFollowTheirDistributions) {
  torch::manual_seed(0);
  PrecondOptions precond;
  LossOptions edm;
  const torch::Tensor log_sigma = draw_sigma(edm, precond, 100000, torch::kCPU).log();
  EXPECT_NEAR(log_sigma.mean().item<double>(), -1.2, 0.02);
  EXPECT_NEAR(log_sigma.std().item<double>(), 1.2, 0.02);
  LossOptions ve;
  ve.objective = Parameterization::ve;
  const torch::Tensor s = draw_sigma(ve, precond, 10000, torch::kCPU);
  EXPECT_GE(s.min().item<double>(), 0.02 - 1e-6);
  EXPECT_LE(s.max().item<double>(), 100 + 1e-3);
  EXPECT_NEAR(s.log().mean().item<double>(), 0.5 * (std::log(0.02) + std::log(100)), 0.1);  // log-uniform
  LossOptions vp;
  vp.objective = Parameterization::vp;
  const torch::Tensor t = vp_sigma_inverse(precond, draw_sigma(vp, precond, 10000, torch::kCPU).to(torch::kDouble));
  EXPECT_GE(t.min().item<double>(), 1e-5 - 1e-7);
  EXPECT_NEAR(t.mean().item<double>(), 0.5, 0.02);
  LossOptions rf;
  rf.objective = Parameterization::rf;
  rf.rf_time = "logit_normal";
  const torch::Tensor rf_t = rf_time(draw_sigma(rf, precond, 10000, torch::kCPU));
  EXPECT_NEAR(rf_t.median().item<double>(), 0.5, 0.02);
  rf.rf_time = "nope";
  EXPECT_THROW(draw_sigma(rf, precond, 1, torch::kCPU), zoo::Error);
}

TEST(Loss, EdmWeightMakesTheNetworksTargetUnitWeighted) {
  // Karras et al. choose λ(σ) = 1/c_out(σ)², so that F's effective target is weighted 1.
  PrecondOptions precond;
  const torch::Tensor sigma = torch::logspace(-2, 2, 9, 10, torch::kDouble);
  const torch::Tensor c_out = coefficients(precond, sigma).c_out;
  EXPECT_TRUE(torch::allclose(loss_weight(LossOptions{}, precond, sigma) * c_out.square(), torch::ones_like(sigma)));
}

TEST(Loss, RectifiedFlowLossIsTheDenoiserLossWeightedByOneOverTSquared) {
  torch::manual_seed(1);
  MlpNetOptions o;
  o.hidden = 32;
  MlpNet net(o);
  const Network network = as_network(net.ptr());
  PrecondOptions precond;
  precond.kind = Parameterization::rf;
  LossOptions rf;
  rf.objective = Parameterization::rf;
  const torch::Tensor y = torch::randn({64, 2}), noise = torch::randn({64, 2});
  const torch::Tensor sigma = rf_sigma(0.2 + 0.6 * torch::rand({64}));
  const torch::Tensor velocity_form = diffusion_loss(rf, precond, network, y, noise, sigma);
  // The same loss written as λ(σ)·‖D − y‖² with λ = 1/t².
  const torch::Tensor t = rf_time(sigma);
  const torch::Tensor denoised = denoise(precond, network, y + sigma.view({-1, 1}) * noise, sigma);
  const torch::Tensor d_form = ((denoised - y).square().mean(1) / t.square()).mean();
  EXPECT_NEAR(velocity_form.item<double>(), d_form.item<double>(), 1e-4 * d_form.item<double>());
}

// The config a checkpoint carries, as checkpoints written before the config moved to
// core/json_fields hold it: it reads and writes back unchanged.
TEST(DiffusionModel, ConfigKeepsTheCheckpointFormat) {
  const zoo::Json saved = zoo::Json::parse(R"({"net": "mlp", "net_config": {"hidden": 32},
      "precond": {"kind": "rf", "sigma_data": 0.5, "beta_d": 19.9, "beta_min": 0.1, "vp_m": 1000.0},
      "shape": [2], "symmetric_images": false})");
  const DiffusionModelConfig config = diffusion_model_config_from_json(saved);
  EXPECT_EQ(config.precond.kind, Parameterization::rf);
  EXPECT_EQ(config.net_config["hidden"], 32);
  EXPECT_EQ(to_json(config), saved);
  EXPECT_THROW(diffusion_model_config_from_json({{"precond", {{"kind", 3}}}}), zoo::Error);
  EXPECT_THROW(diffusion_model_config_from_json({{"nets", "mlp"}}), zoo::Error);
}

TEST(DiffusionLoss, EachExampleDrawsFromItsOwnStreamSoAnySplitOfTheBatchAgrees) {
  torch::manual_seed(1);
  MlpNetOptions o;
  o.hidden = 16;
  MlpNet net(o);
  const Network network = as_network(net.ptr());
  const DiffusionLoss loss(LossOptions{}, PrecondOptions{}, /*seed=*/5);
  const torch::Tensor y = torch::randn({8, 2}), indices = torch::arange(100, 108);
  const double whole = loss(network, y, indices, 3).item<double>();
  // The batch loss is the mean over examples, each example's σ and noise its own: halves
  // (as two ranks would hold them) average to the whole, up to float32 rounding of a mean.
  const double halves = 0.5 * (loss(network, y.slice(0, 0, 4), indices.slice(0, 0, 4), 3).item<double>() +
                               loss(network, y.slice(0, 4), indices.slice(0, 4), 3).item<double>());
  EXPECT_NEAR(halves, whole, 1e-5 * std::abs(whole));
  // Another step draws anew.
  EXPECT_GT(std::abs(loss(network, y, indices, 4).item<double>() - whole), 1e-3 * std::abs(whole));
}

TEST(DiffusionLoss, DistillationTrainsOnlyAtTheKLevelsOfAKStepSampler) {
  LossOptions options;
  options.objective = Parameterization::rf;
  options.distill_steps = 3;
  PrecondOptions precond;
  precond.kind = Parameterization::rf;
  std::vector<torch::Tensor> seen;
  const Network recorder = [&](const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor&) {
    seen.push_back(c_noise.flatten());
    return torch::zeros_like(x);
  };
  const DiffusionLoss loss(options, precond, 0);
  for (int64_t step = 0; step < 20; ++step) loss(recorder, torch::randn({16, 2}), torch::arange(16), step);
  EXPECT_EQ(std::get<0>(torch::_unique(torch::cat(seen))).numel(), 3);
  options.objective = Parameterization::edm;
  EXPECT_THROW(DiffusionLoss(options, PrecondOptions{}, 0), zoo::Error);
}

TEST(Loss, ATinyTrainingRunLowersTheLossForEveryObjective) {
  for (const auto kind : {Parameterization::edm, Parameterization::vp, Parameterization::ve, Parameterization::rf}) {
    torch::manual_seed(2);
    DiffusionModel model(mlp_model(kind));
    LossOptions loss;
    loss.objective = kind;
    const PrecondOptions& precond = model.config().precond;
    // A fixed evaluation batch from the training distribution: data on a ring, noise and
    // noise levels drawn once. Much of each objective's loss is irreducible (the data's
    // posterior spread), so the bar is a clear drop, not a small loss.
    auto ring = [](int64_t n) {
      const torch::Tensor angle = 2 * M_PI * torch::rand({n});
      return torch::stack({angle.cos(), angle.sin()}, 1) + 0.05 * torch::randn({n, 2});
    };
    const torch::Tensor y = ring(4096), noise = torch::randn({4096, 2});
    const torch::Tensor sigma = draw_sigma(loss, precond, 4096, torch::kCPU);
    auto evaluate = [&] {
      torch::NoGradGuard no_grad;
      return diffusion_loss(loss, precond, model.network(), y, noise, sigma).item<double>();
    };
    const double before = evaluate();
    torch::optim::Adam optimizer(model.net()->parameters(), 3e-3);
    for (int step = 0; step < 300; ++step) {
      const torch::Tensor batch = ring(256);
      const torch::Tensor l = diffusion_loss(loss, precond, model.network(), batch, torch::randn_like(batch),
                                             draw_sigma(loss, precond, 256, torch::kCPU));
      optimizer.zero_grad();
      l.backward();
      optimizer.step();
    }
    EXPECT_LT(evaluate(), 0.85 * before) << to_string(kind);
  }
}

TEST(DiffusionModel, ConfigRoundTripsAndRejectsUnknownKeys) {
  DiffusionModel model(mlp_model(Parameterization::ve, 3));
  const DiffusionModel rebuilt(diffusion_model_config_from_json(model.config_json()));
  EXPECT_EQ(rebuilt.config_json(), model.config_json());
  EXPECT_EQ(rebuilt.num_classes(), 3);
  EXPECT_EQ(model.config_json()["net_config"]["hidden"], 64);
  EXPECT_EQ(model.config_json()["net_config"]["embedding_kind"], "positional");  // defaults spelled out
  DiffusionModelConfig bad = mlp_model(Parameterization::edm);
  bad.net_config["hiden"] = 3;
  EXPECT_TRUE(zoo::test::throws_error_with([&] { DiffusionModel m(bad); }, {"hiden", "hidden"}));
  bad = mlp_model(Parameterization::edm);
  bad.net = "transformer";
  EXPECT_TRUE(zoo::test::throws_error_with([&] { DiffusionModel m(bad); }, {"transformer", "unet"}));
  EXPECT_THROW(diffusion_model_config_from_json({{"precond", {{"kind", "ddpm"}}}}), zoo::Error);
}

TEST(DiffusionModel, GuidanceInterpolatesBetweenTheUnconditionalAndConditionalModels) {
  torch::manual_seed(3);
  DiffusionModel model(mlp_model(Parameterization::edm, 4));
  for (auto& p : model.net()->parameters()) p.data().normal_(0, 0.3);
  model.net()->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({5, 2}, torch::kDouble), sigma = torch::full({5}, 1.5, torch::kDouble);
  const torch::Tensor labels = torch::tensor({0, 1, 2, 3, 1}, torch::kLong);
  const torch::Tensor conditional = model.denoiser(labels)(x, sigma);
  const torch::Tensor unconditional = model.denoiser(torch::full({5}, -1, torch::kLong))(x, sigma);
  EXPECT_FALSE(torch::allclose(conditional, unconditional));
  EXPECT_TRUE(torch::allclose(model.denoiser(labels, 0)(x, sigma), unconditional, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(model.denoiser(labels, 3)(x, sigma), unconditional + 3 * (conditional - unconditional),
                              1e-5, 1e-5));
  EXPECT_EQ(conditional.scalar_type(), torch::kDouble);

  DiffusionModel plain(mlp_model(Parameterization::edm));
  EXPECT_TRUE(zoo::test::throws_error_with([&] { plain.denoiser(labels, 2); }, {"unconditional"}));
  EXPECT_THROW(plain.denoiser({}, 2), zoo::Error);
  EXPECT_THROW(model.denoiser(torch::tensor({4}, torch::kLong)), zoo::Error);
}

TEST(Generate, SampleIDependsOnlyOnTheSeedAndI) {
  torch::manual_seed(4);
  DiffusionModel model(mlp_model(Parameterization::edm));
  for (auto& p : model.net()->parameters()) p.data().normal_(0, 0.2);
  GenerateOptions g;
  g.sampler = "euler_ancestral";  // stochastic: fresh noise at every step
  g.schedule.steps = 6;
  g.sampler_options.seed = 11;
  g.batch_size = 7;
  const Generated whole = generate(model, 7, {}, g);
  g.batch_size = 3;
  const Generated pieces = generate(model, 7, {}, g);
  EXPECT_TRUE(torch::allclose(whole.samples, pieces.samples, 1e-5, 1e-6));
  const Generated tail = generate(model, 2, {}, g, 5);
  EXPECT_TRUE(torch::allclose(whole.samples.slice(0, 5), tail.samples, 1e-5, 1e-6));
  EXPECT_EQ(whole.nfe, 6);
  g.sampler_options.seed = 12;
  EXPECT_FALSE(torch::allclose(generate(model, 7, {}, g).samples, whole.samples));
}

TEST(SampleMetrics, SlicedWassersteinMeasuresAShift) {
  torch::manual_seed(5);
  const torch::Tensor a = torch::randn({4000, 2});
  EXPECT_NEAR(zoo::train::sliced_wasserstein(a, a), 0, 1e-12);
  // Shifting by c along x moves each projection by c·cos θ: root-mean-square c/√2.
  const torch::Tensor shifted = a + torch::tensor({1.0f, 0.0f});
  EXPECT_NEAR(zoo::train::sliced_wasserstein(a, shifted), 1 / std::sqrt(2.0), 0.03);
  EXPECT_NEAR(zoo::train::sliced_wasserstein(a, shifted.slice(0, 0, 1000)), 1 / std::sqrt(2.0), 0.1);
  EXPECT_THROW(zoo::train::sliced_wasserstein(a, torch::randn({10, 3})), zoo::Error);
}

TEST(SampleMetrics, FrechetDistanceMatchesTheClosedForm) {
  torch::manual_seed(6);
  const torch::Tensor a = torch::randn({500, 4}, torch::kDouble) * torch::tensor({1.0, 2.0, 0.5, 1.5}, torch::kDouble);
  EXPECT_NEAR(zoo::train::frechet_distance(a, a), 0, 1e-8);
  // b = 2a + 1: Σ_b = 4Σ_a and (Σ_a^½ Σ_b Σ_a^½)^½ = 2Σ_a, so FD = ‖μ_a + 1‖² + tr Σ_a.
  const torch::Tensor b = 2 * a + 1;
  const torch::Tensor centred = a - a.mean(0);
  const double trace = (centred.square().sum(0) / (a.size(0) - 1)).sum().item<double>();
  const double expected = (a.mean(0) + 1).square().sum().item<double>() + trace;
  EXPECT_NEAR(zoo::train::frechet_distance(a, b), expected, 1e-6 * expected);
}
