#pragma once
// Stochastic depth (Huang et al. 2016) as torchvision applies it to a residual branch:
// during training each sample's branch output is kept with probability 1 − p and scaled by
// 1/(1 − p) so its expectation is unchanged, or zeroed, which leaves only the skip
// connection (the block is "dropped" for that sample). In eval it is the identity.
#include <torch/torch.h>

namespace zoo::models {

enum class StochasticDepthMode {
  row,    // one coin per sample (what EfficientNet uses)
  batch,  // one coin for the whole batch
};

// The function form; `training` false or p == 0 returns the input itself.
// p must be in [0, 1]; p == 1 zeroes everything (no rescaling by 1/0).
torch::Tensor stochastic_depth(const torch::Tensor& input, double p, StochasticDepthMode mode, bool training);

struct StochasticDepthOptions {
  /* implicit */ StochasticDepthOptions(double p) : p_(p) {}  // NOLINT
  TORCH_ARG(double, p);
  TORCH_ARG(StochasticDepthMode, mode) = StochasticDepthMode::row;
};

class StochasticDepthImpl : public torch::nn::Cloneable<StochasticDepthImpl> {
 public:
  explicit StochasticDepthImpl(const StochasticDepthOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& input);
  void pretty_print(std::ostream& stream) const override;

  StochasticDepthOptions options;
};
TORCH_MODULE(StochasticDepth);

}  // namespace zoo::models
