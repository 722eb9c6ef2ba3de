#include "train/ema.h"

#include <algorithm>

#include "core/error.h"
#include "weights/state_dict.h"

namespace zoo::train {

Ema::Ema(torch::nn::Module& model, double decay) : decay_(decay) {
  if (!(decay >= 0 && decay < 1))
    throw Error("--ema must be in [0, 1), got " + std::to_string(decay), ErrorKind::usage);
  // state_dict's tensors share storage with the module's: holding them once saves walking
  // the module tree after every optimizer step.
  for (const auto& [name, tensor] : weights::state_dict(model)) {
    model_state_.push_back(tensor);
    shadow_.emplace_back(name, tensor.clone());
  }
}

void Ema::update(int64_t step) {
  torch::NoGradGuard no_grad;
  const double d = std::min(decay_, (1.0 + static_cast<double>(step)) / (10.0 + static_cast<double>(step)));
  for (size_t i = 0; i < shadow_.size(); ++i) {
    torch::Tensor& shadow = shadow_[i].second;
    const torch::Tensor& value = model_state_[i];
    if (shadow.is_floating_point())
      shadow.mul_(d).add_(value, 1 - d);
    else
      shadow.copy_(value);
  }
}

void Ema::load(const weights::NamedTensors& state) {
  if (state.size() != shadow_.size())
    throw Error("the EMA state does not match the model (" + std::to_string(state.size()) + " tensors for " +
                std::to_string(shadow_.size()) + ")");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < shadow_.size(); ++i) {
    if (state[i].first != shadow_[i].first || state[i].second.sizes() != shadow_[i].second.sizes())
      throw Error("the EMA state does not match the model at '" + state[i].first + "'");
    shadow_[i].second.copy_(state[i].second);
  }
}

void Ema::swap_into_model() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < shadow_.size(); ++i) {
    torch::Tensor saved = model_state_[i].clone();
    model_state_[i].copy_(shadow_[i].second);
    shadow_[i].second.copy_(saved);
  }
}

}  // namespace zoo::train
