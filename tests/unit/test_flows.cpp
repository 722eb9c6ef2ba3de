// Normalizing flows: every layer and model inverts exactly and its log-det is the
// log|det| of its Jacobian; actnorm's initialisation; bits/dim by hand; a flow trained on
// moons beats the best Gaussian.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "core/error.h"
#include "data/spec.h"
#include "models/flows/coupling.h"
#include "models/flows/flow_model.h"
#include "models/flows/flow_models.h"
#include "models/flows/invertible_conv.h"
#include "models/flows/multiscale.h"
#include "models/flows/normalization.h"
#include "models/flows/partition.h"
#include "models/flows/squeeze.h"
#include "support/test_support.h"

using namespace zoo::flows;

namespace {

using Shape = std::vector<int64_t>;

// Moves every parameter away from its (often identity-making) initial value.
void perturb(torch::nn::Module& m, double scale = 0.3) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.add_(torch::randn_like(p) * scale);
}

Shape batched(int64_t b, const Shape& shape) {
  Shape s{b};
  s.insert(s.end(), shape.begin(), shape.end());
  return s;
}

CouplingOptions coupling_options(const std::string& kind, const std::string& scale, const std::string& partition,
                                 const std::string& net, bool swap) {
  CouplingOptions c;
  c.kind = kind;
  c.scale = scale;
  c.partition = partition;
  c.swap = swap;
  c.net.kind = net;
  c.net.hidden = 8;
  c.net.layers = 2;
  return c;
}

struct LayerCase {
  std::string name;
  Shape shape;
  std::function<TransformPtr()> make;
};

std::vector<LayerCase> layer_cases() {
  const Shape vec{6}, odd{5}, img{2, 4, 4};
  const auto c = [](Shape s, CouplingOptions o) {
    return [=] { return TransformPtr(std::make_shared<CouplingImpl>(s, o)); };
  };
  return {
      {"additive halves", vec, c(vec, coupling_options("additive", "", "halves", "mlp", false))},
      {"additive odd_even swapped", vec, c(vec, coupling_options("additive", "", "odd_even", "mlp", true))},
      {"additive odd_even, odd D", odd, c(odd, coupling_options("additive", "", "odd_even", "mlp", false))},
      {"affine halves swapped, odd D", odd, c(odd, coupling_options("affine", "sigmoid", "halves", "mlp", true))},
      {"affine sigmoid halves", vec, c(vec, coupling_options("affine", "sigmoid", "halves", "glow", false))},
      {"affine tanh resnet vector", vec, c(vec, coupling_options("affine", "tanh", "halves", "resnet", true))},
      {"affine tanh checkerboard", img, c(img, coupling_options("affine", "tanh", "checkerboard", "resnet", false))},
      {"affine sigmoid channel", img, c(img, coupling_options("affine", "sigmoid", "channel", "glow", true))},
      {"additive checkerboard swapped", img, c(img, coupling_options("additive", "", "checkerboard", "glow", true))},
      {"diagonal scaling", img, [=] { return TransformPtr(std::make_shared<DiagonalScalingImpl>(img)); }},
      {"actnorm", img, [=] { return TransformPtr(std::make_shared<ActNormImpl>(img)); }},
      {"flow batch norm", img, [=] { return TransformPtr(std::make_shared<FlowBatchNormImpl>(img)); }},
      {"flow batch norm vector", vec, [=] { return TransformPtr(std::make_shared<FlowBatchNormImpl>(vec)); }},
      {"1x1 conv", img, [=] { return TransformPtr(std::make_shared<InvertibleConv1x1Impl>(img, false)); }},
      {"1x1 conv LU", img, [=] { return TransformPtr(std::make_shared<InvertibleConv1x1Impl>(img, true)); }},
      {"invertible linear LU", vec, [=] { return TransformPtr(std::make_shared<InvertibleConv1x1Impl>(vec, true)); }},
      {"squeeze", img, [] { return TransformPtr(std::make_shared<SqueezeImpl>()); }},
  };
}

// A layer in its evaluation state with non-trivial parameters and statistics, in float64.
TransformPtr prepared(const LayerCase& c) {
  TransformPtr t = c.make();
  t->to(torch::kDouble);
  t->train();
  t->forward(torch::randn(batched(16, c.shape), torch::kDouble) * 2 + 0.5);  // actnorm init, batch-norm statistics
  perturb(*t);
  t->eval();
  return t;
}

// log|det ∂f/∂x| of one example by autograd, f: [1, ...] → [1, ...].
double autograd_log_det(const std::function<torch::Tensor(const torch::Tensor&)>& f, const torch::Tensor& x) {
  torch::Tensor input = x.clone().requires_grad_(true);
  const torch::Tensor y = f(input).flatten();
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < y.size(0); ++i)
    rows.push_back(torch::autograd::grad({y[i]}, {input}, {}, /*retain_graph=*/true)[0].flatten());
  return std::get<1>(torch::linalg_slogdet(torch::stack(rows))).item<double>();
}

void expect_exact_inverse_and_log_det(TransformPtr t, const Shape& shape, const std::string& name) {
  SCOPED_TRACE(name);
  const torch::Tensor x = torch::randn(batched(3, shape), torch::kDouble);
  const FlowResult f = t->forward(x);
  const FlowResult b = t->inverse(f.output);
  EXPECT_LT((b.output - x).abs().max().item<double>(), 1e-9);
  EXPECT_LT((f.log_det + b.log_det).abs().max().item<double>(), 1e-9);
  EXPECT_TRUE(torch::equal(t->invert(f.output), b.output));  // sampling's path, without log-dets
  for (int64_t i = 0; i < 2; ++i) {
    const torch::Tensor one = x.slice(0, i, i + 1);
    const double expected = autograd_log_det([&](const torch::Tensor& in) { return t->forward(in).output; }, one);
    EXPECT_NEAR(t->forward(one).log_det.item<double>(), expected, 1e-8 * std::max(1.0, std::abs(expected)));
  }
}

FlowModelConfig small_model(const std::string& model, Shape shape) {
  FlowModelConfig c;
  c.model = model;
  c.shape = std::move(shape);
  if (model == "nice") c.options = {{"hidden", 16}, {"layers", 2}};
  if (model == "realnvp") c.options = {{"hidden", 8}, {"blocks", 1}, {"scales", 1}, {"couplings", 4}};
  if (model == "glow") c.options = {{"hidden", 8}, {"steps", 2}, {"levels", 2}};
  return c;
}

}  // namespace

// The config a checkpoint carries, as checkpoints written before the config moved to
// core/json_fields hold it: it reads and writes back unchanged; model and shape are required.
TEST(FlowModelConfig, KeepsTheCheckpointFormat) {
  const zoo::Json saved = zoo::Json::parse(
      R"({"model": "nice", "options": {"couplings": 4}, "shape": [2], "preprocessing": "none", "logit_alpha": 0.05})");
  const FlowModelConfig config = flow_model_config_from_json(saved);
  EXPECT_EQ(config.model, "nice");
  EXPECT_EQ(config.shape, std::vector<int64_t>{2});
  EXPECT_EQ(to_json(config), saved);
  EXPECT_THROW(flow_model_config_from_json({{"shape", {2}}}), zoo::Error);
  EXPECT_THROW(flow_model_config_from_json({{"model", "nice"}}), zoo::Error);
  EXPECT_THROW(flow_model_config_from_json({{"model", "nice"}, {"shape", {2}}, {"colour", 1}}), zoo::Error);
}

TEST(FlowLayers, InvertExactlyWithTheAutogradLogDet) {
  torch::manual_seed(0);
  for (const LayerCase& c : layer_cases()) expect_exact_inverse_and_log_det(prepared(c), c.shape, c.name);
}

TEST(FlowLayers, PartitionsSplitAsThePapersDo) {
  const torch::Tensor x = torch::arange(10, torch::kDouble).view({2, 5}) + 1;
  const auto columns = [&](std::vector<int64_t> c) { return x.index_select(1, torch::tensor(c)); };
  struct Case {
    std::string kind;
    bool swap;
    std::vector<int64_t> kept, changed;
  };
  for (const Case& c : std::vector<Case>{{"halves", false, {0, 1}, {2, 3, 4}},
                                         {"halves", true, {2, 3, 4}, {0, 1}},
                                         {"odd_even", false, {0, 2, 4}, {1, 3}},
                                         {"odd_even", true, {1, 3}, {0, 2, 4}}}) {
    SCOPED_TRACE(c.kind + (c.swap ? " swapped" : ""));
    const Partition p = Partition::make(c.kind, {5}, c.swap);
    EXPECT_EQ(p.conditioner_channels(), static_cast<int64_t>(c.kept.size()));
    EXPECT_EQ(p.changed_channels(), static_cast<int64_t>(c.changed.size()));
    EXPECT_TRUE(torch::equal(p.conditioner_input(x), columns(c.kept)));
    EXPECT_TRUE(torch::equal(p.changed(x), columns(c.changed)));
    const torch::Tensor merged = p.merge(x, -p.changed(x));
    EXPECT_TRUE(torch::equal(merged.index_select(1, torch::tensor(c.kept)), columns(c.kept)));
    EXPECT_TRUE(torch::equal(merged.index_select(1, torch::tensor(c.changed)), -columns(c.changed)));
  }
  // Checkerboard: (h + w) even is kept; the conditioner sees the changed pixels as zeros.
  const torch::Tensor image = torch::rand({3, 2, 4, 4}, torch::kDouble) + 0.5;
  const torch::Tensor kept = (torch::arange(4).view({-1, 1}) + torch::arange(4).view({1, -1})).remainder(2) == 0;
  const Partition board = Partition::make("checkerboard", {2, 4, 4}, false);
  const torch::Tensor seen = board.conditioner_input(image);
  EXPECT_TRUE(torch::equal(seen.masked_select(kept), image.masked_select(kept)));
  EXPECT_EQ(seen.masked_select(~kept).abs().max().item<double>(), 0.0);
  const torch::Tensor merged = board.merge(image, -image);
  EXPECT_TRUE(torch::equal(merged.masked_select(kept), image.masked_select(kept)));
  EXPECT_TRUE(torch::equal(merged.masked_select(~kept), -image.masked_select(~kept)));
  EXPECT_NEAR(board.sum_changed(torch::ones_like(image))[0].item<double>(), 2 * 8, 1e-12);
}

TEST(FlowLayers, MultiScaleWithLearnedPriorsInvertsWithTheAutogradLogDet) {
  torch::manual_seed(1);
  GlowOptions o;
  o.levels = 2;
  o.steps = 1;
  o.hidden = 8;
  const Shape shape{1, 4, 4};
  TransformPtr t = build_glow(o, shape).transform;
  t->to(torch::kDouble);
  t->forward(torch::randn(batched(8, shape), torch::kDouble));
  perturb(*t);
  t->eval();
  expect_exact_inverse_and_log_det(t, shape, "glow multi-scale");
}

TEST(FlowModels, EveryModelInvertsInFloat64AndFloat32) {
  for (const std::string& name : flow_kinds().names()) {
    for (const Shape& shape : {Shape{4}, Shape{1, 8, 8}}) {
      SCOPED_TRACE(name + " " + c10::str(shape));
      torch::manual_seed(2);
      FlowModel model(small_model(name, shape));
      model->train();
      model->loss(torch::rand(batched(16, shape)));  // actnorm init, statistics
      perturb(*model, 0.05);
      model->eval();
      const torch::Tensor x = torch::rand(batched(4, shape)) * 0.9 + 0.05;
      // float32: inverse within 1e-4 of the input (in the flow's own space).
      const torch::Tensor z = model->transform()->forward(x).output;
      EXPECT_EQ(z.sizes(), (torch::IntArrayRef{4, model->dimensions()}));
      EXPECT_LT((model->transform()->inverse(z).output - x).abs().max().item<double>(), 1e-4);
      model->to(torch::kDouble);
      const torch::Tensor xd = x.to(torch::kDouble);
      const FlowResult f = model->transform()->forward(xd);
      const FlowResult b = model->transform()->inverse(f.output);
      EXPECT_LT((b.output - xd).abs().max().item<double>(), 1e-9);
      EXPECT_LT((f.log_det + b.log_det).abs().max().item<double>(), 1e-9);
      EXPECT_TRUE(torch::equal(model->transform()->invert(f.output), b.output));
      if (shape.size() == 1) {
        const torch::Tensor one = xd.slice(0, 0, 1);
        const double expected =
            autograd_log_det([&](const torch::Tensor& in) { return model->transform()->forward(in).output; }, one);
        EXPECT_NEAR(model->transform()->forward(one).log_det.item<double>(), expected,
                    1e-8 * std::max(1.0, std::abs(expected)));
      }
    }
  }
}

TEST(FlowLayers, ActNormStartsAtZeroMeanAndUnitVariancePerChannel) {
  torch::manual_seed(3);
  auto norm = std::make_shared<ActNormImpl>(Shape{3, 5, 5});
  EXPECT_FALSE(norm->initialized());
  const torch::Tensor x = torch::randn({32, 3, 5, 5}) * torch::tensor({0.5, 2.0, 7.0}).view({1, 3, 1, 1}) + 3;
  const torch::Tensor y = norm->forward(x).output;
  EXPECT_TRUE(norm->initialized());
  EXPECT_LT(y.mean({0, 2, 3}).abs().max().item<double>(), 1e-5);
  EXPECT_LT((y.std({0, 2, 3}, false) - 1).abs().max().item<double>(), 1e-4);
  // Once initialised it is an ordinary layer: a second batch does not re-initialise it.
  const torch::Tensor again = norm->forward(x * 2).output;
  EXPECT_GT(again.std({0, 2, 3}, false).min().item<double>(), 1.5);
}

TEST(FlowModels, BitsPerDimAgreeWithAHandComputation) {
  // NICE at initialisation is the identity (zero-initialised couplings, unit scaling), so
  // log p(x) is the logistic prior of the logit-transformed dequantised data plus the
  // logit's log-det.
  FlowModelConfig c = small_model("nice", {1, 4, 4});
  c.preprocessing = "logit";
  FlowModel model(c);
  const torch::Tensor k = torch::randint(0, 256, {5, 1, 4, 4}).to(torch::kFloat);
  const torch::Tensor x = k / 255;
  const torch::Tensor u = torch::rand_like(x);
  const torch::Tensor bpd = bits_per_dim(model->log_prob(x, u), 16);
  const double alpha = 0.05;
  const torch::Tensor deq = (k + u) / 256;
  const torch::Tensor p = alpha + (1 - 2 * alpha) * deq;
  const torch::Tensor y = torch::log(p / (1 - p));
  const torch::Tensor log_det = (std::log(1 - 2 * alpha) - torch::log(p) - torch::log(1 - p)).flatten(1).sum(1);
  const torch::Tensor log_prior = (-y - 2 * torch::log1p(torch::exp(-y))).flatten(1).sum(1);
  const torch::Tensor expected = (-(log_prior + log_det) + 16 * std::log(256.0)) / (16 * std::log(2.0));
  EXPECT_TRUE(torch::allclose(bpd, expected, 1e-4, 1e-4)) << bpd << expected;
}

TEST(FlowModels, AFlowTrainedOnMoonsBeatsTheBestGaussian) {
  torch::manual_seed(4);
  auto train = zoo::data::open_dataset("toy:moons,train=4000,test=2000", zoo::data::Split::train);
  auto test = zoo::data::open_dataset("toy:moons,train=4000,test=2000", zoo::data::Split::test);
  const torch::Tensor xs = zoo::data::stack_inputs(*train), xt = zoo::data::stack_inputs(*test);
  // The best single Gaussian: the maximum-likelihood fit to the training set.
  const torch::Tensor mean = xs.mean(0), centred = xs - mean;
  const torch::Tensor cov = centred.t().matmul(centred) / xs.size(0);
  const torch::Tensor d = xt - mean;
  const double gaussian_nll =
      (0.5 * (d.matmul(torch::inverse(cov)) * d).sum(1) + 0.5 * torch::logdet(cov) + std::log(2 * M_PI))
          .mean()
          .item<double>();

  FlowModelConfig c;
  c.model = "glow";
  c.shape = {2};
  c.options = {{"steps", 6}, {"hidden", 64}};
  FlowModel model(c);
  torch::optim::Adam adam(model->parameters(), 3e-3);
  for (int step = 0; step < 800; ++step) {
    const torch::Tensor batch = xs.index_select(0, torch::randint(xs.size(0), {256}, torch::kLong));
    const torch::Tensor loss = model->loss(batch);
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  model->eval();
  torch::NoGradGuard no_grad;
  const double flow_nll = -model->log_prob(xt).mean().item<double>();
  EXPECT_LT(flow_nll, gaussian_nll - 0.3) << "flow " << flow_nll << " nats, Gaussian " << gaussian_nll;
}

TEST(FlowModels, BadInputIsAClearError) {
  FlowModel model(small_model("glow", {2}));
  EXPECT_TRUE(zoo::test::throws_error_with([&] { model->sample(4, 0); }, {"temperature"}));
  EXPECT_TRUE(zoo::test::throws_error_with([&] { model->log_prob(torch::zeros({3, 5})); }, {"shape"}));
  EXPECT_TRUE(
      zoo::test::throws_error_with([] { FlowModel(small_model("maf", {2})); }, {"maf", "nice, realnvp or glow"}));
  FlowModelConfig odd = small_model("glow", {1, 6, 6});
  EXPECT_TRUE(zoo::test::throws_error_with([&] { FlowModel m(odd); }, {"even"}));
  FlowModelConfig unknown = small_model("nice", {4});
  unknown.options["depth"] = 3;
  EXPECT_TRUE(zoo::test::throws_error_with([&] { FlowModel m(unknown); }, {"depth"}));
  EXPECT_TRUE(zoo::test::throws_error_with([] { Partition::make("checkerboard", {4}, false); }, {"checkerboard"}));
}

TEST(FlowModels, ConfigRoundTripsThroughJson) {
  FlowModel model(small_model("realnvp", {1, 8, 8}));
  const FlowModelConfig back = flow_model_config_from_json(model->config_json());
  FlowModel rebuilt(back);
  EXPECT_EQ(rebuilt->config_json(), model->config_json());
  EXPECT_EQ(back.preprocessing, "logit");
  EXPECT_EQ(rebuilt->parameters().size(), model->parameters().size());
}
