#include "train/adam.h"

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>

namespace zoo::train {

namespace {

// The key under which LibTorch keeps a parameter's state: its TensorImpl address, as a
// string in older releases and as the pointer itself in newer ones.
template <typename States>
typename States::key_type state_key(const States&, const torch::Tensor& p) {
  using Key = typename States::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream address;
    address << p.unsafeGetTensorImpl();
    return address.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

template <typename Options>
bool foreach_applies(const torch::optim::Optimizer& optimizer, std::optional<bool> foreach) {
  if (foreach == false) return false;
  bool all_cuda = true;
  for (const auto& group : optimizer.param_groups()) {
    if (static_cast<const Options&>(group.options()).amsgrad()) return false;
    for (const torch::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (p.grad().is_sparse()) return false;
      all_cuda = all_cuda && p.is_cuda();
    }
  }
  return foreach == true || all_cuda;
}

torch::Tensor evaluate(const torch::optim::Optimizer::LossClosure& closure) {
  if (!closure) return {};
  at::AutoGradMode enable_grad(true);
  return closure();
}

struct Moments {
  std::vector<torch::Tensor> params, grads, exp_avg, exp_avg_sq;
};

// One Adam update of tensors that share a step count, in LibTorch's order of operations.
// Decoupled weight decay (AdamW) shrinks the weights; L2 (Adam) adds to the gradient.
template <typename Options>
void update(Moments& m, int64_t step, const Options& options, bool decoupled) {
  const auto [beta1, beta2] = options.betas();
  const double lr = options.lr(), weight_decay = options.weight_decay();
  if (weight_decay != 0) {
    if (decoupled)
      at::_foreach_mul_(m.params, 1 - lr * weight_decay);
    else
      m.grads = at::_foreach_add(m.grads, m.params, weight_decay);
  }
  const double bias_correction1 = 1 - std::pow(beta1, step), bias_correction2 = 1 - std::pow(beta2, step);
  at::_foreach_mul_(m.exp_avg, beta1);
  at::_foreach_add_(m.exp_avg, m.grads, 1 - beta1);
  at::_foreach_mul_(m.exp_avg_sq, beta2);
  at::_foreach_addcmul_(m.exp_avg_sq, m.grads, m.grads, 1 - beta2);
  std::vector<torch::Tensor> denom = at::_foreach_sqrt(m.exp_avg_sq);
  at::_foreach_div_(denom, std::sqrt(bias_correction2));
  at::_foreach_add_(denom, options.eps());
  at::_foreach_addcdiv_(m.params, m.exp_avg, denom, -lr / bias_correction1);
}

template <typename Options, typename State>
void foreach_step(torch::optim::Optimizer& optimizer, bool decoupled) {
  torch::NoGradGuard no_grad;
  auto& states = optimizer.state();
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const Options&>(group.options());
    // Parameters with the same step count share their bias corrections: one update each.
    std::map<int64_t, Moments> by_step;
    for (const torch::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = states[state_key(states, p)];
      if (!slot) {
        auto fresh = std::make_unique<State>();
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        slot = std::move(fresh);
      }
      auto& state = static_cast<State&>(*slot);
      state.step(state.step() + 1);
      Moments& m = by_step[state.step()];
      m.params.push_back(p);
      m.grads.push_back(p.grad());
      m.exp_avg.push_back(state.exp_avg());
      m.exp_avg_sq.push_back(state.exp_avg_sq());
    }
    for (auto& [step, moments] : by_step)
      update(moments, step, options, decoupled);
  }
}

}  // namespace

template <typename Base, typename Options>
MultiTensor<Base, Options>::MultiTensor(std::vector<torch::Tensor> parameters, Options options, std::optional<bool> foreach)
    : Base(std::move(parameters), options), foreach_(foreach) {}

template <typename Base, typename Options>
torch::Tensor MultiTensor<Base, Options>::step(typename Base::LossClosure closure) {
  constexpr bool decoupled = std::is_same_v<Base, torch::optim::AdamW>;  // AdamW's weight decay
  using State = std::conditional_t<decoupled, torch::optim::AdamWParamState, torch::optim::AdamParamState>;
  const torch::Tensor loss = evaluate(closure);
  if (foreach_applies<Options>(*this, foreach_))
    foreach_step<Options, State>(*this, decoupled);
  else
    Base::step();
  return loss;
}

template class MultiTensor<torch::optim::Adam, torch::optim::AdamOptions>;
template class MultiTensor<torch::optim::AdamW, torch::optim::AdamWOptions>;

}  // namespace zoo::train
