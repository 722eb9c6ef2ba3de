#include "models/efficientnet/mbconv.h"

#include <algorithm>

#include "core/error.h"
#include "models/efficientnet/config.h"
#include "models/nn/conv_norm_activation.h"
#include "models/nn/eval_mode.h"
#include "models/nn/squeeze_excitation.h"

namespace zoo::models {
namespace {

// `activated` false: the projection unit, linear as in the papers.
ConvNormActivation unit(const MBConvOptions& o, int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                        bool activated) {
  return ConvNormActivation(ConvNormActivationOptions(in, out, kernel)
                                .stride(stride)
                                .groups(groups)
                                .norm_eps(o.norm_eps())
                                .norm_momentum(o.norm_momentum())
                                .activation(activated ? o.activation() : "identity")
                                .same_padding(o.same_padding()));
}

void check(const MBConvOptions& o) {
  if (o.stride() != 1 && o.stride() != 2)
    throw Error("MBConv stride must be 1 or 2, got " + std::to_string(o.stride()));
  if (o.in_channels() < 1 || o.out_channels() < 1 || o.kernel_size() < 1 || !(o.expand_ratio() > 0))
    throw Error("invalid MBConv block: " + std::to_string(o.in_channels()) + " -> " + std::to_string(o.out_channels()) +
                " channels, kernel " + std::to_string(o.kernel_size()));
}

// Both blocks. In training the residual branch goes through stochastic depth first. In
// inference (eval, no autograd) stochastic depth is the identity, every intermediate tensor
// is the block's own to overwrite (squeeze-excitation scales in place), and the last unit
// adds the input itself, in the convolution's own pass where it runs on oneDNN.
torch::Tensor run(const torch::nn::Module& owner, torch::nn::Sequential& block, const torch::Tensor& input,
                  bool with_residual, StochasticDepth& drop) {
  if (!is_inference_pass(owner)) return with_residual ? drop(block->forward(input)) + input : block->forward(input);
  torch::Tensor x = input;
  const size_t last = block->size() - 1;
  for (size_t i = 0; i < last; ++i) {
    auto* excitation = block->ptr(i)->as<SqueezeExcitationImpl>();
    x = excitation ? excitation->forward_in_place(x) : (block->begin() + static_cast<std::ptrdiff_t>(i))->forward(x);
  }
  return block->ptr<ConvNormActivationImpl>(last)->forward_add(x, with_residual ? input : torch::Tensor());
}

}  // namespace

int64_t expanded_channels(const MBConvOptions& o) {
  return make_divisible(static_cast<double>(o.in_channels()) * o.expand_ratio(), 8);
}

bool has_residual(const MBConvOptions& o) { return o.stride() == 1 && o.in_channels() == o.out_channels(); }

MBConvImpl::MBConvImpl(const MBConvOptions& options_) : options(options_) { reset(); }

void MBConvImpl::reset() {
  check(options);
  const int64_t in = options.in_channels(), expanded = expanded_channels(options);
  block = torch::nn::Sequential();
  int index = 0;
  auto add = [&](auto module) { block->push_back(std::to_string(index++), module); };
  if (expanded != in) add(unit(options, in, expanded, 1, 1, 1, true));
  add(unit(options, expanded, expanded, options.kernel_size(), options.stride(), expanded, true));
  add(SqueezeExcitation(
      SqueezeExcitationOptions(expanded, std::max<int64_t>(1, in / 4)).activation(options.activation())));
  add(unit(options, expanded, options.out_channels(), 1, 1, 1, false));
  block = register_module("block", block);
  stochastic_depth = register_module("stochastic_depth", StochasticDepth(options.stochastic_depth_prob()));
}

torch::Tensor MBConvImpl::forward(const torch::Tensor& input) {
  return run(*this, block, input, has_residual(options), stochastic_depth);
}

FusedMBConvImpl::FusedMBConvImpl(const MBConvOptions& options_) : options(options_) { reset(); }

void FusedMBConvImpl::reset() {
  check(options);
  const int64_t in = options.in_channels(), expanded = expanded_channels(options);
  block = torch::nn::Sequential();
  if (expanded != in) {
    block->push_back("0", unit(options, in, expanded, options.kernel_size(), options.stride(), 1, true));
    block->push_back("1", unit(options, expanded, options.out_channels(), 1, 1, 1, false));
  } else {
    block->push_back("0", unit(options, in, options.out_channels(), options.kernel_size(), options.stride(), 1, true));
  }
  block = register_module("block", block);
  stochastic_depth = register_module("stochastic_depth", StochasticDepth(options.stochastic_depth_prob()));
}

torch::Tensor FusedMBConvImpl::forward(const torch::Tensor& input) {
  return run(*this, block, input, has_residual(options), stochastic_depth);
}

}  // namespace zoo::models
