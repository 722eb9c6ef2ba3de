#include "models/nn/sync_batch_norm.h"

#include <cstdint>

#include "core/error.h"
#include "models/nn/conv_norm_activation.h"

namespace zoo::models {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// y = x̂·w + b with x̂ = (x − mean)·invstd, the global statistics given (computed, without
// gradient, by sync_batch_norm). Backward restores the statistics' share of the gradient:
//   dx = w·invstd·(dy − mean_g(dy) − x̂·mean_g(dy·x̂)),  mean_g over the global batch.
struct SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& mean, const torch::Tensor& invstd,
                               double count, int64_t group) {
    const auto channel = [](const torch::Tensor& v) { return v.view({1, -1, 1, 1}); };
    const torch::Tensor normalised = (x - channel(mean)) * channel(invstd);
    ctx->save_for_backward({normalised, weight, invstd});
    ctx->saved_data["count"] = count;
    ctx->saved_data["group"] = group;
    return normalised * channel(weight) + channel(bias);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& normalised = saved[0];
    const torch::Tensor& weight = saved[1];
    const torch::Tensor& invstd = saved[2];
    auto& group = *reinterpret_cast<Distributed*>(static_cast<intptr_t>(ctx->saved_data["group"].toInt()));
    const double count = ctx->saved_data["count"].toDouble();
    const torch::Tensor dy = grads[0];
    const std::vector<int64_t> dims = {0, 2, 3};
    // Local sums: the parameter gradients (the gradient sync averages them) and, reduced
    // over the ranks, the statistics' share of the input gradient.
    const torch::Tensor sum_dy = dy.sum(dims), sum_dy_xhat = (dy * normalised).sum(dims);
    torch::Tensor global = torch::stack({sum_dy, sum_dy_xhat}).to(torch::kDouble);
    group.all_reduce_sum({global});
    const torch::Tensor mean_dy = (global[0] / count).to(dy.scalar_type()).view({1, -1, 1, 1});
    const torch::Tensor mean_dy_xhat = (global[1] / count).to(dy.scalar_type()).view({1, -1, 1, 1});
    const torch::Tensor dx = (weight * invstd).view({1, -1, 1, 1}) * (dy - mean_dy - normalised * mean_dy_xhat);
    return {dx, sum_dy_xhat, sum_dy, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor sync_batch_norm(const torch::Tensor& x, torch::nn::BatchNorm2dImpl& norm, Distributed& group) {
  if (x.dim() != 4) throw Error("sync_batch_norm: expected [N, C, H, W], got " + c10::str(x.sizes()), ErrorKind::input);
  const auto& o = norm.options;
  if (!o.affine() || !o.track_running_stats() || !o.momentum())
    throw Error("sync_batch_norm: needs an affine BatchNorm2d that tracks running statistics with a momentum",
                ErrorKind::usage);
  torch::Tensor mean, invstd;
  double count = 0;
  {
    torch::NoGradGuard no_grad;
    const std::vector<int64_t> dims = {0, 2, 3};
    const torch::Tensor wide = x.to(torch::kDouble);
    const double local = static_cast<double>(x.numel() / x.size(1));
    torch::Tensor stats =
        torch::cat({wide.sum(dims), wide.square().sum(dims), torch::full({1}, local, wide.options())});
    group.all_reduce_sum({stats});
    const int64_t c = x.size(1);
    count = stats[2 * c].item<double>();
    const torch::Tensor global_mean = stats.narrow(0, 0, c) / count;
    const torch::Tensor variance = (stats.narrow(0, c, c) / count - global_mean.square()).clamp_min(0);
    mean = global_mean.to(x.scalar_type());
    invstd = (variance + o.eps()).rsqrt().to(x.scalar_type());
    const double m = *o.momentum();
    norm.running_mean.mul_(1 - m).add_(global_mean.to(norm.running_mean.scalar_type()), m);
    norm.running_var.mul_(1 - m).add_(
        (variance * (count / std::max(1.0, count - 1))).to(norm.running_var.scalar_type()), m);
    norm.num_batches_tracked.add_(1);
  }
  return SyncBatchNormFunction::apply(x, norm.weight, norm.bias, mean, invstd, count,
                                      static_cast<int64_t>(reinterpret_cast<intptr_t>(&group)));
}

void convert_sync_batch_norm(torch::nn::Module& module, const std::shared_ptr<Distributed>& group) {
  if (!group || !group->active()) return;
  for (const auto& child : module.modules())
    if (auto* unit = dynamic_cast<ConvNormActivationImpl*>(child.get())) unit->sync_group = group;
}

}  // namespace zoo::models
