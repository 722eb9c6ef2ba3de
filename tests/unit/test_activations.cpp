// Activation functions: each equals its closed form written out here, and its gradient
// matches central finite differences (float64); the gated units compute f(xW)·(xV).
#include <gtest/gtest.h>

#include <cmath>

#include "models/diffusion/unet.h"
#include "models/flows/flow_model.h"
#include "models/nn/activations.h"
#include "models/registry.h"
#include "support/test_support.h"

using namespace zoo::models;

namespace {

torch::Tensor grid() { return torch::linspace(-5, 5, 1001, torch::kFloat64); }
torch::Tensor logistic(const torch::Tensor& x) { return 1 / (1 + torch::exp(-x)); }
torch::Tensor log_one_plus_exp(const torch::Tensor& x) { return torch::log1p(torch::exp(x)); }
torch::Tensor clip06(const torch::Tensor& x) { return x.clamp(0, 6); }

// The textbook formula of each name.
torch::Tensor closed_form(const std::string& name, const torch::Tensor& x) {
  const torch::Tensor positive = x > 0;
  if (name == "identity") return x.clone();
  if (name == "step") return positive.to(torch::kFloat64);
  if (name == "sigmoid") return logistic(x);
  if (name == "tanh") return (torch::exp(x) - torch::exp(-x)) / (torch::exp(x) + torch::exp(-x));
  if (name == "relu") return torch::where(positive, x, torch::zeros_like(x));
  if (name == "leaky_relu") return torch::where(positive, x, 0.01 * x);
  if (name == "leaky_relu:0.2") return torch::where(positive, x, 0.2 * x);
  if (name == "elu") return torch::where(positive, x, torch::exp(x) - 1);
  if (name == "elu:0.5") return torch::where(positive, x, 0.5 * (torch::exp(x) - 1));
  if (name == "selu") {
    const double alpha = 1.6732632423543772, scale = 1.0507009873554805;  // Klambauer et al. 2017
    return scale * torch::where(positive, x, alpha * (torch::exp(x) - 1));
  }
  if (name == "gelu") return 0.5 * x * (1 + torch::erf(x / std::sqrt(2.0)));
  if (name == "gelu_tanh") return 0.5 * x * (1 + torch::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x.pow(3))));
  if (name == "silu" || name == "swish") return x * logistic(x);
  if (name == "swish:2") return x * logistic(2 * x);
  if (name == "mish") return x * torch::tanh(log_one_plus_exp(x));
  if (name == "hard_sigmoid") return clip06(x + 3) / 6;
  if (name == "hard_swish") return x * clip06(x + 3) / 6;
  if (name == "softplus") return log_one_plus_exp(x);
  if (name == "softplus:2") return log_one_plus_exp(2 * x) / 2;
  ADD_FAILURE() << "no closed form for " << name;
  return x;
}

const std::vector<std::string> kParameterised = {"leaky_relu:0.2", "elu:0.5", "swish:2", "softplus:2"};

}  // namespace

TEST(Activations, EachEqualsItsClosedForm) {
  std::vector<std::string> names = kParameterised;
  for (const std::string& n : activation_names())
    if (n != "prelu") names.push_back(n);
  const torch::Tensor x = grid();
  for (const std::string& name : names)
    EXPECT_TRUE(torch::allclose(activation_function(name)(x), closed_form(name, x), 1e-12, 1e-12)) << name;
}

TEST(Activations, GradientsMatchFiniteDifferences) {
  // Points away from the kinks at 0 (relu, step, leaky_relu, elu) and ±3 (the hard ones).
  const torch::Tensor x = torch::tensor({-4.3, -2.2, -0.7, -0.2, 0.3, 0.9, 1.7, 3.6}, torch::kFloat64);
  const double h = 1e-6;
  std::vector<std::string> names = kParameterised;
  for (const std::string& n : activation_names()) names.push_back(n);
  for (const std::string& name : names) {
    Activation f(name, 1);
    f->to(torch::kFloat64);
    const torch::Tensor input = x.clone().requires_grad_();
    const torch::Tensor y = f->forward(input);
    const torch::Tensor analytic =
        y.requires_grad() ? torch::autograd::grad({y.sum()}, {input})[0] : torch::zeros_like(x);
    torch::NoGradGuard no_grad;
    const torch::Tensor numeric = (f->forward(x + h) - f->forward(x - h)) / (2 * h);
    EXPECT_TRUE(torch::allclose(analytic, numeric, 1e-6, 1e-7)) << name << "\n" << analytic << numeric;
  }
}

// Where a function has an in-place kernel the activation overwrites its input, with the
// same values as out of place; elsewhere it computes out of place.
TEST(Activations, InPlaceEqualsOutOfPlace) {
  for (const std::string name : {"silu", "relu", "gelu", "swish:2"}) {
    Activation activation(name);
    const torch::Tensor x = torch::randn({4, 3, 5, 5});
    torch::Tensor input = x.clone();
    const torch::Tensor out = activation->forward_in_place(input);
    EXPECT_TRUE(torch::equal(out, activation->forward(x))) << name;
    const bool in_place = name == "silu" || name == "relu";
    EXPECT_EQ(out.data_ptr() == input.data_ptr(), in_place) << name;
  }
}

TEST(Activations, PreluLearnsItsSlopePerChannel) {
  Activation prelu("prelu", 3);
  ASSERT_EQ(prelu->parameters().size(), 1u);
  EXPECT_TRUE(torch::allclose(prelu->parameters()[0], torch::full({3}, 0.25)));
  const torch::Tensor x = -torch::ones({2, 3, 4, 4});
  EXPECT_TRUE(torch::allclose(prelu->forward(x), torch::full({2, 3, 4, 4}, -0.25)));
  prelu->forward(x).sum().backward();
  EXPECT_TRUE(torch::allclose(prelu->parameters()[0].grad(), torch::full({3}, -32.0)));  // Σ x over 2·4·4 per channel
}

TEST(Activations, GatedLinearUnitsGateOneProjectionByAnother) {
  torch::manual_seed(0);
  const std::pair<const char*, const char*> kinds[] = {
      {"glu", "sigmoid"}, {"reglu", "relu"}, {"geglu", "gelu"}, {"swiglu", "silu"}};
  for (const auto& [kind, gate] : kinds) {
    GatedLinearUnit unit(GatedLinearUnitOptions{6, 4, kind, true});
    const auto params = unit->named_parameters();
    const torch::Tensor x = torch::randn({5, 6});
    const torch::Tensor g = torch::matmul(x, params["gate.weight"].t()) + params["gate.bias"];
    const torch::Tensor v = torch::matmul(x, params["value.weight"].t()) + params["value.bias"];
    EXPECT_TRUE(
        torch::allclose(unit->forward(x), closed_form(gate, g.to(torch::kFloat64)).to(torch::kFloat) * v, 1e-5, 1e-6))
        << kind;
  }
  GatedLinearUnit no_bias(GatedLinearUnitOptions{6, 4, "swiglu", false});
  EXPECT_EQ(no_bias->parameters().size(), 2u);
}

TEST(Activations, BadNamesAreUsageErrors) {
  EXPECT_TRUE(
      zoo::test::throws_error_with([] { activation_function("relu7"); }, {"unknown activation relu7", "gelu_tanh"}));
  EXPECT_TRUE(zoo::test::throws_error_with([] { activation_function("relu:2"); }, {"takes no parameter"}));
  EXPECT_TRUE(zoo::test::throws_error_with([] { activation_function("swish:fast"); }, {"must be a number"}));
  EXPECT_TRUE(zoo::test::throws_error_with([] { activation_function("prelu"); }, {"module"}));
  EXPECT_TRUE(zoo::test::throws_error_with([] { GatedLinearUnit(GatedLinearUnitOptions{2, 2, "xglu"}); }, {"xglu"}));
}

// Every model family reads "activation" from its config by name: the network changes with
// it (same weights, another function), prelu brings its slopes as parameters, and an
// unknown name is an error naming the known ones.
TEST(Activations, ModelConfigsReadActivationNames) {
  const auto classifier = [](const std::string& activation) {
    torch::manual_seed(0);
    return zoo::models::build_classifier("efficientnet_phi",
                                         {{"phi", -3}, {"num_classes", 3}, {"activation", activation}});
  };
  zoo::models::Classifier silu = classifier("silu"), gelu = classifier("gelu");
  EXPECT_EQ(gelu.config()["activation"], "gelu");
  silu.module().eval();
  gelu.module().eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 3, 32, 32});
  const torch::Tensor a = silu(x), b = gelu(x);
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-3 * a.abs().max().item<double>()) << a << b;
  // The same state_dict keys whatever the (parameter-free) activation: torchvision's.
  EXPECT_EQ(silu.module().named_parameters().keys(), gelu.module().named_parameters().keys());
  EXPECT_TRUE(zoo::test::throws_error_with([&] { classifier("wiggle"); }, {"wiggle", "silu"}));

  zoo::diffusion::UNetOptions unet;
  unet.channels = 8;
  unet.channel_mult = {1, 2};
  unet.attention_resolutions = {};
  unet.activation = "prelu";
  zoo::diffusion::UNet with_prelu(unet);
  EXPECT_TRUE(with_prelu->named_parameters().contains("out_act.weight"));
  EXPECT_EQ(zoo::fields_from_json<zoo::diffusion::UNetOptions>({{"activation", "mish"}}, "unet").activation, "mish");

  zoo::flows::FlowModelConfig flow;
  flow.model = "nice";
  flow.shape = {2};
  flow.options = {{"hidden", 8}, {"layers", 1}, {"activation", "tanh"}};
  zoo::flows::FlowModel tanh_flow(flow);
  EXPECT_EQ(tanh_flow->config_json()["options"]["activation"], "tanh");
  int tanh_units = 0;
  for (const auto& module : tanh_flow->modules())
    if (const auto* a = dynamic_cast<const ActivationImpl*>(module.get())) tanh_units += a->name() == "tanh";
  EXPECT_EQ(tanh_units, 4);  // one hidden layer in each of NICE's four couplings
  flow.options["activation"] = "wiggle";
  EXPECT_TRUE(zoo::test::throws_error_with([&] { zoo::flows::FlowModel bad(flow); }, {"wiggle"}));
}
