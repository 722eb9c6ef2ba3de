#include "models/nn/conv_norm_activation.h"

#include "core/error.h"
#include "models/nn/eval_mode.h"
#include "models/nn/fuse.h"
#include "models/nn/same_padding.h"
#include "models/nn/sync_batch_norm.h"

namespace zoo::models {
namespace {

torch::nn::Conv2dOptions conv_options(const ConvNormActivationOptions& o, bool bias) {
  const int64_t padding = o.same_padding() ? 0 : (o.kernel_size() - 1) / 2 * o.dilation();
  return torch::nn::Conv2dOptions(o.in_channels(), o.out_channels(), o.kernel_size())
      .stride(o.stride())
      .padding(padding)
      .dilation(o.dilation())
      .groups(o.groups())
      .bias(bias);
}

}  // namespace

ConvNormActivationImpl::ConvNormActivationImpl(const ConvNormActivationOptions& options_) : options(options_) {
  reset();
}

void ConvNormActivationImpl::reset() {
  const auto& o = options;
  if (o.in_channels() < 1 || o.out_channels() < 1 || o.kernel_size() < 1 || o.stride() < 1 || o.groups() < 1 ||
      o.dilation() < 1 || o.in_channels() % o.groups() != 0 || o.out_channels() % o.groups() != 0)
    throw Error("invalid convolution: " + std::to_string(o.in_channels()) + " -> " + std::to_string(o.out_channels()) +
                " channels, kernel " + std::to_string(o.kernel_size()) + ", stride " + std::to_string(o.stride()) +
                ", groups " + std::to_string(o.groups()));
  fused_ = false;
  packed_ = nullptr;
  conv = register_module("0", torch::nn::Conv2d(conv_options(o, /*bias=*/!o.norm())));
  norm = nullptr;
  if (o.norm())
    norm = register_module(
        "1", torch::nn::BatchNorm2d(
                 torch::nn::BatchNorm2dOptions(o.out_channels()).eps(o.norm_eps()).momentum(o.norm_momentum())));
  activation = nullptr;
  if (o.activation() != "identity")
    activation = register_module(o.norm() ? "2" : "1", Activation(o.activation(), o.out_channels()));
}

torch::Tensor ConvNormActivationImpl::forward(const torch::Tensor& input) { return forward_add(input, {}); }

torch::Tensor ConvNormActivationImpl::forward_add(const torch::Tensor& input, const torch::Tensor& addend) {
  torch::Tensor x =
      options.same_padding() ? pad_same(input, options.kernel_size(), options.stride(), options.dilation()) : input;
  if (const std::shared_ptr<PackedConv> packed = packed_for(x)) return packed->forward(x, addend);
  x = conv->forward(x);
  if (norm) x = sync_group && is_training() ? sync_batch_norm(x, *norm, *sync_group) : norm->forward(x);
  if (activation)
    // Without autograd x, just made by the convolution (or norm), is ours to overwrite.
    x = torch::GradMode::is_enabled() ? activation->forward(x) : activation->forward_in_place(x);
  return addend.defined() ? x + addend : x;
}

std::shared_ptr<PackedConv> ConvNormActivationImpl::packed_for(const torch::Tensor& input) {
  const std::string act = activation ? activation->name() : "identity";
  if (!is_inference_pass(*this) || !PackedConv::accepts(input) || !PackedConv::fuses(act)) return nullptr;
  std::vector<torch::Tensor> sources{conv->weight, conv->bias};
  if (norm) sources.insert(sources.end(), {norm->weight, norm->bias, norm->running_mean, norm->running_var});
  std::vector<int64_t> stamp;
  for (const torch::Tensor& source : sources)
    if (source.defined()) {
      stamp.push_back(reinterpret_cast<intptr_t>(source.data_ptr()));
      // (Tensors made under c10::InferenceMode have no version counter.)
      stamp.push_back(source.is_inference() ? 0 : source._version());
    }
  // Threads sharing the module in inference may arrive together; each keeps the packed
  // convolution it was given alive while it runs, even if the weights change meanwhile.
  const std::lock_guard<std::mutex> lock(*packed_mutex_);
  if (!packed_ || stamp != packed_stamp_) {
    const FoldedConv folded =
        norm ? fold_batch_norm(conv->weight, conv->bias, *norm)
             : FoldedConv{conv->weight, conv->bias.defined() ? conv->bias : torch::zeros({options.out_channels()})};
    packed_ = std::make_shared<PackedConv>(
        folded.weight, folded.bias,
        PackedConvOptions()
            .stride(options.stride())
            .padding(options.same_padding() ? 0 : (options.kernel_size() - 1) / 2 * options.dilation())
            .dilation(options.dilation())
            .groups(options.groups())
            .activation(act));
    packed_stamp_ = std::move(stamp);
  }
  return packed_;
}

void ConvNormActivationImpl::fuse() {
  if (!norm) return;
  torch::NoGradGuard no_grad;
  const FoldedConv folded = fold_batch_norm(conv->weight, conv->bias, *norm);
  torch::nn::Conv2d fused_conv(conv_options(options, /*bias=*/true));
  fused_conv->to(conv->weight.device(), conv->weight.scalar_type());
  fused_conv->weight.copy_(folded.weight);
  fused_conv->bias.copy_(folded.bias);
  fused_conv->train(is_training());
  conv = replace_module("0", fused_conv);
  replace_module("1", torch::nn::Identity());
  norm = nullptr;
  fused_ = true;
}

void ConvNormActivationImpl::pretty_print(std::ostream& stream) const {
  stream << "zoo::ConvNormActivation(" << options.in_channels() << ", " << options.out_channels()
         << ", kernel_size=" << options.kernel_size() << ", stride=" << options.stride();
  if (options.groups() != 1) stream << ", groups=" << options.groups();
  if (options.same_padding()) stream << ", padding=same";
  if (fused_) stream << ", fused";
  stream << ")";
}

}  // namespace zoo::models
