#include "models/nn/activations.h"

#include <cmath>
#include <cstdlib>

#include "core/error.h"

namespace zoo::models {

namespace {

std::string known_names() {
  std::string known;
  for (const std::string& n : activation_names()) known += (known.empty() ? "" : ", ") + n;
  return known;
}

// "swish:1.5" -> ("swish", 1.5); no colon -> (name, fallback).
std::pair<std::string, double> split_parameter(const std::string& spec, double fallback) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos) return {spec, fallback};
  const std::string text = spec.substr(colon + 1);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value))
    throw Error("activation " + spec + ": the parameter after ':' must be a number", ErrorKind::usage);
  return {spec.substr(0, colon), value};
}

double default_parameter(const std::string& base) {
  if (base == "leaky_relu") return 0.01;
  return 1.0;  // elu's alpha, swish's beta, softplus's beta
}

bool takes_parameter(const std::string& base) {
  return base == "leaky_relu" || base == "elu" || base == "swish" || base == "softplus";
}

}  // namespace

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = {
      "identity", "step",      "sigmoid", "tanh",  "relu", "leaky_relu",   "prelu",      "elu",     "selu",
      "gelu",     "gelu_tanh", "silu",    "swish", "mish", "hard_sigmoid", "hard_swish", "softplus"};
  return names;
}

ActivationFn activation_function(const std::string& name) {
  const std::string base = name.substr(0, name.find(':'));
  if (base != name && !takes_parameter(base))
    throw Error("activation " + base + " takes no parameter (given " + name + ")", ErrorKind::usage);
  const double p = split_parameter(name, default_parameter(base)).second;
  if (base == "identity") return [](const torch::Tensor& x) { return x; };
  if (base == "step") return [](const torch::Tensor& x) { return (x > 0).to(x.scalar_type()); };
  if (base == "sigmoid") return [](const torch::Tensor& x) { return torch::sigmoid(x); };
  if (base == "tanh") return [](const torch::Tensor& x) { return torch::tanh(x); };
  if (base == "relu") return [](const torch::Tensor& x) { return torch::relu(x); };
  if (base == "leaky_relu") return [p](const torch::Tensor& x) { return torch::leaky_relu(x, p); };
  if (base == "elu") return [p](const torch::Tensor& x) { return torch::elu(x, p); };
  if (base == "selu") return [](const torch::Tensor& x) { return torch::selu(x); };
  if (base == "gelu") return [](const torch::Tensor& x) { return torch::gelu(x); };
  if (base == "gelu_tanh") return [](const torch::Tensor& x) { return torch::gelu(x, "tanh"); };
  if (base == "silu") return [](const torch::Tensor& x) { return torch::silu(x); };
  if (base == "swish") return [p](const torch::Tensor& x) { return x * torch::sigmoid(p * x); };
  if (base == "mish") return [](const torch::Tensor& x) { return torch::mish(x); };
  if (base == "hard_sigmoid") return [](const torch::Tensor& x) { return torch::hardsigmoid(x); };
  if (base == "hard_swish") return [](const torch::Tensor& x) { return torch::hardswish(x); };
  if (base == "softplus") return [p](const torch::Tensor& x) { return torch::softplus(x, p); };
  if (base == "prelu")
    throw Error("activation prelu learns its slope: build it as a module (Activation)", ErrorKind::usage);
  throw Error("unknown activation " + name + " (known: " + known_names() + ")", ErrorKind::usage);
}

ActivationImpl::ActivationImpl(const std::string& name, int64_t channels) : name_(name) {
  if (name == "prelu") {
    if (channels < 1) throw Error("activation prelu: channels must be positive", ErrorKind::usage);
    slope_ = register_parameter("weight", torch::full({channels}, 0.25));
  } else {
    function_ = activation_function(name);
  }
}

void check_activation(const std::string& name) {
  if (name != "prelu") activation_function(name);
}

void ActivationImpl::pretty_print(std::ostream& stream) const { stream << "Activation(" << name_ << ")"; }

torch::Tensor ActivationImpl::forward(const torch::Tensor& x) {
  return slope_.defined() ? torch::prelu(x, slope_) : function_(x);
}

torch::Tensor ActivationImpl::forward_in_place(torch::Tensor x) {
  if (name_ == "silu") return torch::silu_(x);
  if (name_ == "relu") return torch::relu_(x);
  return forward(x);
}

GatedLinearUnitImpl::GatedLinearUnitImpl(const GatedLinearUnitOptions& o) {
  const std::string gates[][2] = {{"glu", "sigmoid"}, {"reglu", "relu"}, {"geglu", "gelu"}, {"swiglu", "silu"}};
  for (const auto& [kind, gate] : gates)
    if (o.kind == kind) gate_ = activation_function(gate);
  if (!gate_) throw Error("gated linear unit " + o.kind + ": expected glu, reglu, geglu or swiglu", ErrorKind::usage);
  gate_projection_ = register_module("gate", torch::nn::Linear(torch::nn::LinearOptions(o.in, o.out).bias(o.bias)));
  value_projection_ = register_module("value", torch::nn::Linear(torch::nn::LinearOptions(o.in, o.out).bias(o.bias)));
}

torch::Tensor GatedLinearUnitImpl::forward(const torch::Tensor& x) {
  return gate_(gate_projection_->forward(x)) * value_projection_->forward(x);
}

}  // namespace zoo::models
