#pragma once
// Activation functions by name, from the perceptron's step to today's gated units, so a
// model config can say "activation": "gelu_tanh" and every family reads it the same way.
//
//   identity        x (a linear unit: no activation)
//   step            1 if x > 0 else 0 (Rosenblatt's perceptron; zero gradient)
//   sigmoid, tanh
//   relu            max(0, x)
//   leaky_relu[:a]  x if x > 0 else a·x            (a = 0.01)
//   prelu           leaky_relu with a learned slope (a module: make_activation)
//   elu[:a]         x if x > 0 else a·(eˣ − 1)      (a = 1)
//   selu            λ·elu with Klambauer et al.'s λ, α (self-normalising)
//   gelu            x·Φ(x), the exact erf form
//   gelu_tanh       ½x·(1 + tanh(√(2/π)·(x + 0.044715x³))), BERT's and GPT-2's approximation
//   silu, swish[:b] x·σ(b·x)                        (silu: b = 1)
//   mish            x·tanh(softplus(x))
//   hard_sigmoid    relu6(x + 3)/6, hard_swish  x·relu6(x + 3)/6 (MobileNetV3)
//   softplus[:b]    log(1 + e^{b·x})/b              (b = 1)
//
// A parameter follows a colon: "leaky_relu:0.2", "swish:1.5". The gated linear units (GLU,
// ReGLU, GEGLU, SwiGLU; Dauphin et al. 2017, Shazeer 2020) have their own projections and
// are layers: GatedLinearUnit.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace zoo::models {

using ActivationFn = std::function<torch::Tensor(const torch::Tensor&)>;

// Every name above (without parameters), in the order listed.
const std::vector<std::string>& activation_names();

// The function of a parameter-free name ("relu", "swish:2"); zoo::Error(usage) naming the
// known ones for an unknown name or a bad parameter, and for "prelu" (it has a weight).
ActivationFn activation_function(const std::string& name);

// zoo::Error(usage) naming the known activations unless `name` is one of them (prelu
// included): what configs call when they are read.
void check_activation(const std::string& name);

// Any activation as a module (prelu learns its slope, one per channel when given channels,
// else one shared, starting at 0.25 as in He et al. 2015).
class ActivationImpl : public torch::nn::Module {
 public:
  explicit ActivationImpl(const std::string& name, int64_t channels = 1);
  torch::Tensor forward(const torch::Tensor& x);
  // The same, overwriting x where the function has an in-place kernel (silu, relu): for a
  // caller that owns x and needs no gradient.
  torch::Tensor forward_in_place(torch::Tensor x);
  void pretty_print(std::ostream& stream) const override;  // Activation(silu)
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  ActivationFn function_;
  torch::Tensor slope_;  // prelu
};
TORCH_MODULE(Activation);

// out = f(x·W + b) ⊙ (x·V + c): the gate's nonlinearity f is σ (GLU), relu (ReGLU), gelu
// (GEGLU) or silu (SwiGLU). Biases are optional (the transformer variants drop them).
struct GatedLinearUnitOptions {
  int64_t in = 1, out = 1;
  std::string kind = "swiglu";  // glu, reglu, geglu or swiglu
  bool bias = true;
};

class GatedLinearUnitImpl : public torch::nn::Module {
 public:
  explicit GatedLinearUnitImpl(const GatedLinearUnitOptions& options);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ActivationFn gate_;
  torch::nn::Linear gate_projection_{nullptr}, value_projection_{nullptr};
};
TORCH_MODULE(GatedLinearUnit);

}  // namespace zoo::models
