#include "models/efficientnet/efficientnet.h"

#include <cmath>

#include "core/autocast.h"
#include "models/efficientnet/stage.h"
#include "models/nn/conv_norm_activation.h"
#include "models/nn/fuse.h"

namespace zoo::models {

EfficientNetImpl::EfficientNetImpl(const EfficientNetConfig& config) : config_(config) { reset(); }

void EfficientNetImpl::reset() {
  validate(config_);
  const EfficientNetConfig& c = config_;
  auto conv_unit = [&](int64_t in, int64_t out, int64_t kernel, int64_t stride) {
    return ConvNormActivation(ConvNormActivationOptions(in, out, kernel)
                                  .stride(stride)
                                  .norm_eps(c.norm_eps())
                                  .norm_momentum(c.norm_momentum())
                                  .activation(c.activation())
                                  .same_padding(c.same_padding()));
  };

  features = torch::nn::Sequential();
  features->push_back("0", conv_unit(c.in_channels(), stem_channels(c), 3, 2));

  const std::vector<StageConfig> stages = scaled_stages(c);
  const int64_t blocks = total_blocks(c);
  int64_t first_block = 0;
  for (size_t s = 0; s < stages.size(); ++s) {
    features->push_back(std::to_string(s + 1), EfficientNetStage(EfficientNetStageOptions(stages[s])
                                                                     .stochastic_depth_prob(c.stochastic_depth_prob())
                                                                     .first_block(first_block)
                                                                     .total_blocks(blocks)
                                                                     .norm_eps(c.norm_eps())
                                                                     .norm_momentum(c.norm_momentum())
                                                                     .same_padding(c.same_padding())
                                                                     .activation(c.activation())));
    first_block += stages[s].repeats;
  }
  features->push_back(std::to_string(stages.size() + 1), conv_unit(stages.back().out_channels, head_channels(c), 1, 1));
  features = register_module("features", features);

  avgpool = register_module("avgpool", torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
  classifier = torch::nn::Sequential();
  classifier->push_back("0", torch::nn::Dropout(torch::nn::DropoutOptions(c.dropout())));
  classifier->push_back("1", torch::nn::Linear(head_channels(c), c.num_classes()));
  classifier = register_module("classifier", classifier);

  init_efficientnet_weights(*this);
}

torch::Tensor EfficientNetImpl::forward_features(const torch::Tensor& x) {
  return torch::flatten(avgpool(features->forward(x)), 1);
}

torch::Tensor EfficientNetImpl::forward(const torch::Tensor& x) {
  // The head is one small product: float32 even under CPU autocast, where casting its weights
  // took 12% of a batch-1 bfloat16 step.
  const torch::Tensor features = forward_features(x);
  const CpuAutocastOff float32;
  return classifier->forward(features.to(classifier->ptr<torch::nn::LinearImpl>(1)->weight.scalar_type()));
}

void init_efficientnet_weights(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  // Not include_self: this runs in the constructor, before a shared_ptr owns the model
  // (and the root itself has no parameters of its own).
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut);
      if (conv->bias.defined()) torch::nn::init::zeros_(conv->bias);
    } else if (auto* norm = module->as<torch::nn::BatchNorm2d>()) {
      if (norm->weight.defined()) torch::nn::init::ones_(norm->weight);
      if (norm->bias.defined()) torch::nn::init::zeros_(norm->bias);
    } else if (auto* linear = module->as<torch::nn::Linear>()) {
      const double range = 1.0 / std::sqrt(static_cast<double>(linear->options.out_features()));
      torch::nn::init::uniform_(linear->weight, -range, range);
      if (linear->bias.defined()) torch::nn::init::zeros_(linear->bias);
    }
  }
}

void fuse_for_inference(EfficientNet& model, bool channels_last) { fuse_for_inference(*model, channels_last); }

}  // namespace zoo::models
