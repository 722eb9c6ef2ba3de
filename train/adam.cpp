#include "train/adam.h"

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>

#include "core/error.h"
#include "train/adam_cpu_kernel.h"

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

// A parameter the fused CPU loop can update in place: its elements and its gradient's form
// one dense block of floats or doubles.
bool fusable(const torch::Tensor& p) {
  const torch::Tensor& g = p.grad();
  const auto type = p.scalar_type();
  return p.is_cpu() && (type == torch::kFloat || type == torch::kDouble) && p.layout() == torch::kStrided &&
         p.is_non_overlapping_and_dense() && g.layout() == torch::kStrided && g.scalar_type() == type;
}

template <typename Options>
AdamKernel choose_kernel(const torch::optim::Optimizer& optimizer, std::optional<AdamKernel> requested) {
  if (requested == AdamKernel::per_tensor) return AdamKernel::per_tensor;
  bool all_cuda = true, all_fusable = true, amsgrad = false;
  for (const auto& group : optimizer.param_groups()) {
    amsgrad = amsgrad || static_cast<const Options&>(group.options()).amsgrad();
    for (const torch::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      if (p.grad().is_sparse()) return AdamKernel::per_tensor;  // LibTorch's update reports it
      all_cuda = all_cuda && p.is_cuda();
      all_fusable = all_fusable && fusable(p);
    }
  }
  if (requested == AdamKernel::fused && !all_fusable)
    throw Error("fused Adam updates dense float or double CPU tensors only; use the foreach or per-tensor update",
                ErrorKind::usage);
  if (requested == AdamKernel::fused || (!requested && all_fusable)) return AdamKernel::fused;
  if (amsgrad) return AdamKernel::per_tensor;
  return requested == AdamKernel::foreach || all_cuda ? AdamKernel::foreach : AdamKernel::per_tensor;
}

torch::Tensor evaluate(const torch::optim::Optimizer::LossClosure& closure) {
  if (!closure) return {};
  at::AutoGradMode enable_grad(true);
  return closure();
}

// A parameter's state, made as LibTorch makes it on the parameter's first step.
template <typename State>
State& state_of(torch::optim::Optimizer& optimizer, const torch::Tensor& p, bool amsgrad) {
  auto& states = optimizer.state();
  auto& slot = states[state_key(states, p)];
  if (!slot) {
    auto fresh = std::make_unique<State>();
    fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    if (amsgrad) fresh->max_exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
    slot = std::move(fresh);
  }
  return static_cast<State&>(*slot);
}

struct Moments {
  std::vector<torch::Tensor> params, grads, exp_avg, exp_avg_sq;
};

// The update's numbers for a parameter at `step`, as both the foreach and the fused update
// use them.
template <typename Options>
AdamScalars scalars_at(const Options& options, int64_t step, bool decoupled) {
  const auto [beta1, beta2] = options.betas();
  return {options.lr(),
          beta1,
          beta2,
          options.eps(),
          options.weight_decay(),
          1 - std::pow(beta1, step),
          1 - std::pow(beta2, step),
          decoupled};
}

// One Adam update of tensors that share a step count, in LibTorch's order of operations.
// Decoupled weight decay (AdamW) shrinks the weights; L2 (Adam) adds to the gradient.
void update(Moments& m, const AdamScalars& s) {
  if (s.weight_decay != 0) {
    if (s.decoupled)
      at::_foreach_mul_(m.params, 1 - s.lr * s.weight_decay);
    else
      m.grads = at::_foreach_add(m.grads, m.params, s.weight_decay);
  }
  at::_foreach_mul_(m.exp_avg, s.beta1);
  at::_foreach_add_(m.exp_avg, m.grads, 1 - s.beta1);
  at::_foreach_mul_(m.exp_avg_sq, s.beta2);
  at::_foreach_addcmul_(m.exp_avg_sq, m.grads, m.grads, 1 - s.beta2);
  std::vector<torch::Tensor> denom = at::_foreach_sqrt(m.exp_avg_sq);
  at::_foreach_div_(denom, std::sqrt(s.bias_correction2));
  at::_foreach_add_(denom, s.eps);
  at::_foreach_addcdiv_(m.params, m.exp_avg, denom, -s.lr / s.bias_correction1);
}

template <typename Options, typename State>
void foreach_step(torch::optim::Optimizer& optimizer, bool decoupled) {
  torch::NoGradGuard no_grad;
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const Options&>(group.options());
    // Parameters with the same step count share their bias corrections: one update each.
    std::map<int64_t, Moments> by_step;
    for (const torch::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      State& state = state_of<State>(optimizer, p, false);
      state.step(state.step() + 1);
      Moments& m = by_step[state.step()];
      m.params.push_back(p);
      m.grads.push_back(p.grad());
      m.exp_avg.push_back(state.exp_avg());
      m.exp_avg_sq.push_back(state.exp_avg_sq());
    }
    for (auto& [step, moments] : by_step) update(moments, scalars_at(options, step, decoupled));
  }
}

// t with p's strides: itself when it has them, else a copy (a gradient or a loaded state
// laid out differently), so that the fused loop can walk all of them as one array.
torch::Tensor laid_out_like(const torch::Tensor& t, const torch::Tensor& p) {
  return t.strides() == p.strides() ? t : torch::empty_like(p).copy_(t);
}

template <typename Options, typename State>
void fused_step(torch::optim::Optimizer& optimizer, bool decoupled) {
  torch::NoGradGuard no_grad;
  for (auto& group : optimizer.param_groups()) {
    const auto& options = static_cast<const Options&>(group.options());
    for (const torch::Tensor& p : group.params()) {
      if (!p.grad().defined()) continue;
      State& state = state_of<State>(optimizer, p, options.amsgrad());
      state.step(state.step() + 1);
      state.exp_avg(laid_out_like(state.exp_avg(), p));
      state.exp_avg_sq(laid_out_like(state.exp_avg_sq(), p));
      if (options.amsgrad()) state.max_exp_avg_sq(laid_out_like(state.max_exp_avg_sq(), p));
      const torch::Tensor grad = laid_out_like(p.grad(), p);
      const AdamScalars scalars = scalars_at(options, state.step(), decoupled);
      AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "adam_cpu_kernel", [&] {
        adam_cpu_kernel(p.data_ptr<scalar_t>(), grad.data_ptr<scalar_t>(),
                        state.exp_avg().template data_ptr<scalar_t>(), state.exp_avg_sq().template data_ptr<scalar_t>(),
                        options.amsgrad() ? state.max_exp_avg_sq().template data_ptr<scalar_t>() : nullptr, p.numel(),
                        scalars);
      });
      // Written through a raw pointer: bump the version as an in-place ATen operation would,
      // so that autograd and whatever caches the weights (packed convolutions) see the change.
      p.unsafeGetTensorImpl()->bump_version();
    }
  }
}

}  // namespace

template <typename Base, typename Options>
AdamFamily<Base, Options>::AdamFamily(std::vector<torch::Tensor> parameters, Options options,
                                      std::optional<AdamKernel> kernel)
    : Base(std::move(parameters), options), kernel_(kernel) {}

template <typename Base, typename Options>
torch::Tensor AdamFamily<Base, Options>::step(typename Base::LossClosure closure) {
  constexpr bool decoupled = std::is_same_v<Base, torch::optim::AdamW>;  // AdamW's weight decay
  using State = std::conditional_t<decoupled, torch::optim::AdamWParamState, torch::optim::AdamParamState>;
  const torch::Tensor loss = evaluate(closure);
  last_kernel_ = choose_kernel<Options>(*this, kernel_);
  switch (last_kernel_) {
    case AdamKernel::fused: fused_step<Options, State>(*this, decoupled); break;
    case AdamKernel::foreach: foreach_step<Options, State>(*this, decoupled); break;
    case AdamKernel::per_tensor: Base::step(); break;
  }
  return loss;
}

template class AdamFamily<torch::optim::Adam, torch::optim::AdamOptions>;
template class AdamFamily<torch::optim::AdamW, torch::optim::AdamWOptions>;

}  // namespace zoo::train
