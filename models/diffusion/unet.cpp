#include "models/diffusion/unet.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace zoo::diffusion {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

// EDM's min(32, channels/4) groups, falling back to fewer when that does not divide.
nn::GroupNorm group_norm(int64_t channels) {
  int64_t groups = std::max<int64_t>(1, std::min<int64_t>(32, channels / 4));
  while (channels % groups != 0) --groups;
  return nn::GroupNorm(nn::GroupNormOptions(groups, channels).eps(1e-6));
}

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}

const double kSkipScale = 1 / std::sqrt(2.0);

}  // namespace

ResidualBlockImpl::ResidualBlockImpl(int64_t in, int64_t out, int64_t embedding, double dropout,
                                     const std::string& activation) {
  norm0_ = register_module("norm0", group_norm(in));
  act0_ = register_module("act0", models::Activation(activation, in));
  conv0_ = register_module("conv0", conv(in, out, 3));
  affine_ = register_module("affine", nn::Linear(embedding, 2 * out));
  norm1_ = register_module("norm1", group_norm(out));
  act1_ = register_module("act1", models::Activation(activation, out));
  dropout_ = register_module("dropout", nn::Dropout(dropout));
  conv1_ = register_module("conv1", conv(out, out, 3));
  if (in != out) skip_ = register_module("skip", conv(in, out, 1));
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& embedding) {
  torch::Tensor h = conv0_->forward(act0_->forward(norm0_->forward(x)));
  const auto scale_shift = affine_->forward(embedding).unsqueeze(2).unsqueeze(3).chunk(2, 1);
  h = act1_->forward(torch::addcmul(scale_shift[1], norm1_->forward(h), scale_shift[0] + 1));
  h = conv1_->forward(dropout_->forward(h));
  return (h + (skip_ ? skip_->forward(x) : x)) * kSkipScale;
}

AttentionBlockImpl::AttentionBlockImpl(int64_t channels, int64_t heads) : heads_(heads) {
  if (channels % heads != 0)
    throw Error(
        "attention: " + std::to_string(channels) + " channels do not split into " + std::to_string(heads) + " heads",
        ErrorKind::usage);
  norm_ = register_module("norm", group_norm(channels));
  qkv_ = register_module("qkv", conv(channels, 3 * channels, 1));
  proj_ = register_module("proj", conv(channels, channels, 1));
}

torch::Tensor AttentionBlockImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), pixels = x.size(2) * x.size(3), d = c / heads_;
  // [B, 3, heads, d, pixels] -> q, k, v as [B·heads, pixels, d]
  const auto qkv = qkv_->forward(norm_->forward(x)).reshape({b, 3, heads_, d, pixels}).unbind(1);
  auto tokens = [&](const torch::Tensor& t) { return t.reshape({b * heads_, d, pixels}).transpose(1, 2); };
  const torch::Tensor q = tokens(qkv[0]), k = tokens(qkv[1]), v = tokens(qkv[2]);
  const torch::Tensor weights =
      torch::softmax(torch::bmm(q, k.transpose(1, 2)) / std::sqrt(static_cast<double>(d)), -1);
  const torch::Tensor out = torch::bmm(weights, v).transpose(1, 2).reshape({b, c, x.size(2), x.size(3)});
  return (x + proj_->forward(out)) * kSkipScale;
}

UNetLayerImpl::UNetLayerImpl(Kind kind, int64_t in, int64_t out, int64_t heads, bool takes_skip, const UNetOptions& net)
    : kind_(kind), takes_skip_(takes_skip) {
  if (kind == Kind::block) {
    residual_ = register_module("residual", ResidualBlock(in, out, 4 * net.channels, net.dropout, net.activation));
    if (heads > 0) attention_ = register_module("attention", AttentionBlock(out, heads));
  } else {
    conv_ = register_module("conv", conv(in, out, 3, kind == Kind::down ? 2 : 1));
  }
}

torch::Tensor UNetLayerImpl::forward(torch::Tensor h, const torch::Tensor& embedding,
                                     std::vector<torch::Tensor>& skips) {
  switch (kind_) {
    case Kind::down: return conv_->forward(h);
    case Kind::up:
      h = F::interpolate(h, F::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{skips.back().size(2), skips.back().size(3)})
                                .mode(torch::kNearest));
      return conv_->forward(h);
    case Kind::block:
      if (takes_skip_) {
        h = torch::cat({h, skips.back()}, 1);
        skips.pop_back();
      }
      h = residual_->forward(h, embedding);
      return attention_ ? attention_->forward(h) : h;
  }
  return h;
}

UNetImpl::UNetImpl(const UNetOptions& o) : options_(o) {
  if (o.in_channels < 1 || o.resolution < 1 || o.channels < 1 || o.blocks < 1 || o.channel_mult.empty() ||
      o.num_classes < 0)
    throw Error("unet config: in_channels, resolution, channels, blocks and channel_mult must be positive",
                ErrorKind::usage);
  const int64_t emb = 4 * o.channels;  // as UNetLayer's blocks take it
  noise_embedding_ = register_module("noise_embedding", NoiseEmbedding(o.embedding_kind, o.channels));
  embedding_mlp_ = register_module(
      "embedding_mlp",
      nn::Sequential(nn::Linear(o.channels, emb), models::Activation(o.activation, emb), nn::Linear(emb, emb)));
  embedding_act_ = register_module("embedding_act", models::Activation(o.activation, emb));
  if (o.num_classes > 0)
    class_embedding_ = register_module("class_embedding", ClassEmbedding(o.num_classes, emb, o.label_dropout));
  conv_in_ = register_module("conv_in", conv(o.in_channels, o.channels, 3));

  auto heads_at = [&](int64_t resolution, int64_t channels) -> int64_t {
    const auto& r = o.attention_resolutions;
    if (std::find(r.begin(), r.end(), resolution) == r.end()) return 0;
    return std::max<int64_t>(1, channels / o.attention_head_channels);
  };
  using Kind = UNetLayerImpl::Kind;
  encoder_ = register_module("encoder", nn::ModuleList());
  middle_ = register_module("middle", nn::ModuleList());
  decoder_ = register_module("decoder", nn::ModuleList());

  std::vector<int64_t> skip_channels{o.channels}, level_resolution;
  int64_t channels = o.channels, resolution = o.resolution;
  const int64_t levels = static_cast<int64_t>(o.channel_mult.size());
  for (int64_t level = 0; level < levels; ++level) {
    level_resolution.push_back(resolution);
    const int64_t out = o.channels * o.channel_mult[static_cast<size_t>(level)];
    for (int64_t i = 0; i < o.blocks; ++i) {
      encoder_->push_back(UNetLayer(Kind::block, channels, out, heads_at(resolution, out), false, o));
      channels = out;
      skip_channels.push_back(channels);
    }
    if (level + 1 < levels) {
      encoder_->push_back(UNetLayer(Kind::down, channels, channels, 0, false, o));
      resolution = (resolution + 1) / 2;
      skip_channels.push_back(channels);
    }
  }
  const int64_t middle_heads = std::max<int64_t>(1, channels / o.attention_head_channels);
  middle_->push_back(UNetLayer(Kind::block, channels, channels, middle_heads, false, o));
  middle_->push_back(UNetLayer(Kind::block, channels, channels, 0, false, o));
  for (int64_t level = levels - 1; level >= 0; --level) {
    const int64_t out = o.channels * o.channel_mult[static_cast<size_t>(level)];
    const int64_t at = level_resolution[static_cast<size_t>(level)];
    for (int64_t i = 0; i <= o.blocks; ++i) {
      decoder_->push_back(UNetLayer(Kind::block, channels + skip_channels.back(), out, heads_at(at, out), true, o));
      skip_channels.pop_back();
      channels = out;
    }
    if (level > 0) decoder_->push_back(UNetLayer(Kind::up, channels, channels, 0, false, o));
  }
  norm_out_ = register_module("norm_out", group_norm(channels));
  out_act_ = register_module("out_act", models::Activation(o.activation, channels));
  conv_out_ = register_module("conv_out", conv(channels, o.in_channels, 3));
  // The network starts as F = 0, so the initial denoiser is c_skip·x (EDM's init_zero).
  torch::NoGradGuard no_grad;
  conv_out_->weight.zero_();
  conv_out_->bias.zero_();
}

torch::Tensor UNetImpl::embed(const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels) {
  if (x.dim() != 4 || x.size(1) != options_.in_channels)
    throw Error(
        "unet: expected images [B, " + std::to_string(options_.in_channels) + ", H, W], got " + c10::str(x.sizes()),
        ErrorKind::input);
  torch::Tensor emb = embedding_mlp_->forward(noise_embedding_->forward(c_noise));
  if (class_embedding_) emb = emb + class_embedding_->forward(labels, x.size(0), x.device());
  return embedding_act_->forward(emb);
}

torch::Tensor UNetImpl::encode(const torch::Tensor& x, const torch::Tensor& embedding,
                               std::vector<torch::Tensor>& skips) {
  torch::Tensor h = conv_in_->forward(x);
  skips.push_back(h);
  for (const auto& layer : *encoder_) {
    h = layer->as<UNetLayer>()->forward(h, embedding, skips);
    skips.push_back(h);
  }
  for (const auto& layer : *middle_) h = layer->as<UNetLayer>()->forward(h, embedding, skips);
  return h;
}

torch::Tensor UNetImpl::bottleneck(const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels) {
  std::vector<torch::Tensor> skips;
  return encode(x, embed(x, c_noise, labels), skips);
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x, const torch::Tensor& c_noise, const torch::Tensor& labels) {
  const torch::Tensor emb = embed(x, c_noise, labels);
  std::vector<torch::Tensor> skips;
  torch::Tensor h = encode(x, emb, skips);
  for (const auto& layer : *decoder_) h = layer->as<UNetLayer>()->forward(h, emb, skips);
  return conv_out_->forward(out_act_->forward(norm_out_->forward(h)));
}

}  // namespace zoo::diffusion
