#include "models/efficientnet/stochastic_depth.h"

#include <cmath>

#include "core/error.h"

namespace zoo::models {

torch::Tensor stochastic_depth(const torch::Tensor& input, double p, StochasticDepthMode mode, bool training) {
  if (!(p >= 0.0 && p <= 1.0)) throw Error("stochastic depth probability must be in [0, 1], got " + std::to_string(p));
  if (!training || p == 0.0) return input;
  const double survival = 1.0 - p;
  std::vector<int64_t> shape(static_cast<size_t>(input.dim()), 1);
  if (mode == StochasticDepthMode::row && input.dim() > 0) shape[0] = input.size(0);
  torch::Tensor keep = torch::empty(shape, input.options()).bernoulli_(survival);
  if (survival > 0.0) keep.div_(survival);
  return input * keep;
}

StochasticDepthImpl::StochasticDepthImpl(const StochasticDepthOptions& options_) : options(options_) { reset(); }

void StochasticDepthImpl::reset() {
  if (!(options.p() >= 0.0 && options.p() <= 1.0))
    throw Error("stochastic depth probability must be in [0, 1], got " + std::to_string(options.p()));
}

torch::Tensor StochasticDepthImpl::forward(const torch::Tensor& input) {
  return stochastic_depth(input, options.p(), options.mode(), is_training());
}

void StochasticDepthImpl::pretty_print(std::ostream& stream) const {
  stream << "zoo::StochasticDepth(p=" << options.p()
         << ", mode=" << (options.mode() == StochasticDepthMode::row ? "row" : "batch") << ")";
}

}  // namespace zoo::models
