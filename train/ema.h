#pragma once
// Exponential moving average of a model's weights (Polyak averaging), the weights that
// evaluation and sampling use by default: shadow ← d·shadow + (1 − d)·weight after every
// optimizer step, with buffers (BatchNorm statistics) copied as they are. The decay warms
// up as min(d, (1 + step)/(10 + step)) so early averages are not dominated by the random
// initialisation.
#include <torch/torch.h>

#include "weights/safetensors.h"

namespace zoo::train {

class Ema {
 public:
  Ema(torch::nn::Module& model, double decay);

  void update(int64_t step);
  double decay() const { return decay_; }

  // The averaged state, named like the model's state dict.
  const weights::NamedTensors& state() const { return shadow_; }
  void load(const weights::NamedTensors& state);

  // Swaps the averaged weights into the model (and back on a second call): evaluation
  // runs the EMA model without a second copy of the network.
  void swap_into_model();

 private:
  double decay_;
  std::vector<torch::Tensor> model_state_;  // the model's own tensors, in state-dict order
  weights::NamedTensors shadow_;
};

// Runs `body` with the EMA weights in the model (when an EMA is given), restoring the
// training weights afterwards even if body throws.
template <typename Body>
auto with_ema_weights(Ema* ema, Body&& body) {
  struct Swap {
    Ema* ema;
    explicit Swap(Ema* e) : ema(e) {
      if (ema) ema->swap_into_model();
    }
    ~Swap() {
      if (ema) ema->swap_into_model();
    }
  } swap(ema);
  return body();
}

}  // namespace zoo::train
