#include "models/nn/fuse.h"

#include "models/nn/conv_norm_activation.h"

namespace zoo::models {

FoldedConv fold_batch_norm(const torch::Tensor& weight, const torch::Tensor& bias,
                           const torch::nn::BatchNorm2dImpl& norm) {
  torch::NoGradGuard no_grad;
  const auto out_channels = weight.size(0);
  const auto d = [](const torch::Tensor& t) { return t.detach().to(torch::kDouble); };
  // Defaults live on the weight's device, so a model folds where it is (CPU or CUDA).
  const auto filled = [&](double value) {
    return torch::full({out_channels}, value, weight.options().dtype(torch::kDouble));
  };
  const torch::Tensor gamma = norm.options.affine() ? d(norm.weight) : filled(1);
  const torch::Tensor beta = norm.options.affine() ? d(norm.bias) : filled(0);
  const torch::Tensor scale = gamma / (d(norm.running_var) + norm.options.eps()).sqrt();
  const torch::Tensor b = bias.defined() ? d(bias) : filled(0);
  std::vector<int64_t> per_channel(static_cast<size_t>(weight.dim()), 1);
  per_channel[0] = out_channels;
  FoldedConv folded;
  folded.weight = (d(weight) * scale.view(per_channel)).to(weight.scalar_type());
  folded.bias = (beta + (b - d(norm.running_mean)) * scale).to(weight.scalar_type());
  return folded;
}

int64_t fuse_conv_norm(torch::nn::Module& model) {
  // The root by reference (it may not live in a shared_ptr), then every descendant. All
  // units are found before any is fused: fusing frees a unit's convolution and norm,
  // which the list of descendants still points to.
  std::vector<torch::nn::Module*> all{&model};
  for (const auto& module : model.modules(/*include_self=*/false)) all.push_back(module.get());
  std::vector<ConvNormActivationImpl*> units;
  for (torch::nn::Module* module : all)
    if (auto* unit = dynamic_cast<ConvNormActivationImpl*>(module); unit && unit->norm) units.push_back(unit);
  for (ConvNormActivationImpl* unit : units) unit->fuse();
  return static_cast<int64_t>(units.size());
}

void fuse_for_inference(torch::nn::Module& model, bool channels_last) {
  model.eval();
  fuse_conv_norm(model);
  model.eval();  // the new convolutions too
  if (channels_last) to_channels_last(model);
}

void to_channels_last(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  // clone, not contiguous(ChannelsLast): a weight with one input channel or a 1×1 kernel
  // (depthwise and pointwise convolutions) already counts as channels-last-contiguous in
  // NCHW strides, so contiguous() would keep them, and LibTorch would then read the layout
  // from the strides as NCHW and run those convolutions, and everything after them, in NCHW.
  auto convert = [](torch::Tensor& t) {
    if (t.dim() == 4) t.set_data(t.clone(torch::MemoryFormat::ChannelsLast));
  };
  for (auto& p : model.parameters()) convert(p);
  for (auto& b : model.buffers()) convert(b);
}

}  // namespace zoo::models
