#include "models/efficientnet/stage.h"

#include "models/efficientnet/mbconv.h"

namespace zoo::models {

EfficientNetStageImpl::EfficientNetStageImpl(const EfficientNetStageOptions& options_) : options(options_) { reset(); }

void EfficientNetStageImpl::reset() {
  const StageConfig& s = options.stage();
  blocks_.clear();
  for (int64_t b = 0; b < s.repeats; ++b) {
    MBConvOptions block(b == 0 ? s.in_channels : s.out_channels, s.out_channels, s.expand_ratio, s.kernel,
                        b == 0 ? s.stride : 1);
    block
        .stochastic_depth_prob(options.stochastic_depth_prob() * static_cast<double>(options.first_block() + b) /
                               static_cast<double>(options.total_blocks()))
        .norm_eps(options.norm_eps())
        .norm_momentum(options.norm_momentum())
        .same_padding(options.same_padding())
        .activation(options.activation());
    const std::string name = std::to_string(b);
    if (s.block == BlockKind::mbconv)
      blocks_.emplace_back(register_module(name, MBConv(block)));
    else
      blocks_.emplace_back(register_module(name, FusedMBConv(block)));
  }
}

torch::Tensor EfficientNetStageImpl::forward(torch::Tensor x) {
  for (auto& block : blocks_) x = block.forward(x);
  return x;
}

}  // namespace zoo::models
