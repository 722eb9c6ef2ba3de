#pragma once
// One stage of EfficientNet: `repeats` blocks of one kind, the first changing width and
// stride, the rest stride 1 at the output width; children "0"…"n−1" as in torchvision's
// nn.Sequential of blocks. A module of its own because LibTorch cannot nest a
// torch::nn::Sequential inside another (its forward is a template).
#include <torch/torch.h>

#include <vector>

#include "models/efficientnet/config.h"

namespace zoo::models {

struct EfficientNetStageOptions {
  explicit EfficientNetStageOptions(const StageConfig& stage) : stage_(stage) {}
  TORCH_ARG(StageConfig, stage);  // already scaled: channels and repeats as built
  // Block i of the stage gets stochastic depth max_prob · (first_block + i) / total_blocks.
  TORCH_ARG(double, stochastic_depth_prob) = 0.0;
  TORCH_ARG(int64_t, first_block) = 0;
  TORCH_ARG(int64_t, total_blocks) = 1;
  TORCH_ARG(double, norm_eps) = 1e-5;
  TORCH_ARG(double, norm_momentum) = 0.1;
  TORCH_ARG(bool, same_padding) = false;
  TORCH_ARG(std::string, activation) = "silu";
};

class EfficientNetStageImpl : public torch::nn::Cloneable<EfficientNetStageImpl> {
 public:
  explicit EfficientNetStageImpl(const EfficientNetStageOptions& options);
  void reset() override;
  torch::Tensor forward(torch::Tensor x);

  EfficientNetStageOptions options;

 private:
  std::vector<torch::nn::AnyModule> blocks_;
};
TORCH_MODULE(EfficientNetStage);

}  // namespace zoo::models
