#pragma once
// What an EfficientNet is: its stage table (Table 1 of Tan & Le 2019, Table 4 of
// EfficientNetV2) plus the compound-scaling multipliers, and everything else that
// changes the network (classes, input channels, BatchNorm settings, padding style).
//
// The stage table is kept *unscaled*, as the papers print it, and the width and depth
// multipliers are applied when the network is built (scaled_stages() below), exactly
// as torchvision does. So a saved config reads like the paper, and B0…B7 differ only in
// four numbers. The default-constructed config is EfficientNet-B0.
//
// Rounding rules (torchvision's, reproduced exactly so its state_dicts load):
//   channels  make_divisible(c · width_mult): round to the nearest multiple of 8, at
//             least 8, and one step up when rounding lost more than 10%;
//   expanded  make_divisible(scaled_in · expand_ratio), no second width multiplier;
//   repeats   ceil(n · depth_mult) in double (3 × 1.1 = 3.3000000000000003 → 4).
#include <c10/util/Optional.h>
#include <torch/arg.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"

namespace zoo::models {

// MBConv: 1×1 expand, k×k depthwise, squeeze-excitation, 1×1 project (EfficientNet).
// FusedMBConv: one k×k full convolution in place of expand + depthwise, no SE (V2's early stages).
enum class BlockKind { mbconv, fused_mbconv };
std::string to_string(BlockKind kind);           // "mbconv", "fused_mbconv"
BlockKind parse_block_kind(const std::string&);  // throws zoo::Error naming the accepted values
// The block kind in JSON, by name (core/json_fields.h).
Json to_json_value(BlockKind kind);
void read_json_value(const Json& value, const std::string& what, BlockKind& out);

// One row of the stage table. Channels and repeats are the unscaled (B0 / paper) values.
struct StageConfig {
  BlockKind block = BlockKind::mbconv;
  double expand_ratio = 1;
  int64_t kernel = 3;
  int64_t stride = 1;
  int64_t in_channels = 32;
  int64_t out_channels = 16;
  int64_t repeats = 1;
};
bool operator==(const StageConfig& a, const StageConfig& b);

template <class Visit>
void visit_fields(StageConfig& s, Visit&& field) {
  field("block", s.block);
  field("expand_ratio", s.expand_ratio);
  field("kernel", s.kernel);
  field("stride", s.stride);
  field("in_channels", s.in_channels);
  field("out_channels", s.out_channels);
  field("repeats", s.repeats);
}
// A stage in JSON names every number (the block kind defaults to MBConv).
void read_json_value(const Json& value, const std::string& what, StageConfig& out);

// EfficientNet-B0's stages: (expand, kernel, stride, in, out, repeats).
std::vector<StageConfig> efficientnet_b_stages();

struct EfficientNetConfig {
  TORCH_ARG(std::vector<StageConfig>, stages) = efficientnet_b_stages();
  TORCH_ARG(double, width_mult) = 1.0;
  TORCH_ARG(double, depth_mult) = 1.0;
  // The input size the model was designed (and is trained) for. The network itself is
  // fully convolutional and accepts any size; this is what tools pick by default.
  TORCH_ARG(int64_t, resolution) = 224;
  TORCH_ARG(double, dropout) = 0.2;  // before the classifier
  // Drop probability of the last block's residual branch; block i of N gets p·i/N.
  TORCH_ARG(double, stochastic_depth_prob) = 0.2;
  TORCH_ARG(int64_t, num_classes) = 1000;
  TORCH_ARG(int64_t, in_channels) = 3;
  // PyTorch's BatchNorm semantics: running = (1 − momentum)·running + momentum·batch, so
  // TensorFlow's decay 0.99 is momentum 0.01 here.
  TORCH_ARG(double, norm_eps) = 1e-5;
  TORCH_ARG(double, norm_momentum) = 0.1;
  // Channels of the head convolution; unset means 4 × the last stage's scaled width
  // (1280 for B0). EfficientNetV2 fixes it at 1280.
  TORCH_ARG(c10::optional<int64_t>, last_channel) = c10::nullopt;
  // TensorFlow "SAME" padding, computed from each input size (extra pixel right/bottom),
  // instead of the symmetric (k−1)/2: what weights trained in TensorFlow (lukemelas) expect.
  TORCH_ARG(bool, same_padding) = false;
  // Of every unit but the linear projections (models/nn/activations.h names).
  TORCH_ARG(std::string, activation) = "silu";
};

template <class Visit>
void visit_fields(EfficientNetConfig& c, Visit&& field) {
  field("stages", c.stages());
  field("width_mult", c.width_mult());
  field("depth_mult", c.depth_mult());
  field("resolution", c.resolution());
  field("dropout", c.dropout());
  field("stochastic_depth_prob", c.stochastic_depth_prob());
  field("num_classes", c.num_classes());
  field("in_channels", c.in_channels());
  field("norm_eps", c.norm_eps());
  field("norm_momentum", c.norm_momentum());
  field("last_channel", c.last_channel());
  field("same_padding", c.same_padding());
  field("activation", c.activation());
}

// Throws zoo::Error(input) naming the first offending field and the accepted range, and
// for sizes beyond core/limits.h: num_classes (kMaxClasses), in_channels, last_channel and
// every scaled or expanded width (kMaxChannels), resolution (kMaxImageSide), the scaled
// blocks (kMaxBlocks) and the weights they need (kMaxParameters), before anything is built.
void validate(const EfficientNetConfig& config);

// ---- scaling -------------------------------------------------------------------------

// torchvision's _make_divisible: max(min_value, int(v + divisor/2) // divisor · divisor),
// plus one divisor when that is below 0.9·v. min_value 0 means `divisor`.
int64_t make_divisible(double value, int64_t divisor = 8, int64_t min_value = 0);
// make_divisible(channels · width_mult, 8).
int64_t scale_width(int64_t channels, double width_mult);
// ceil(repeats · depth_mult), in double.
int64_t scale_depth(int64_t repeats, double depth_mult);

// The stage table with width and depth multipliers applied: what the network is built from.
std::vector<StageConfig> scaled_stages(const EfficientNetConfig& config);
int64_t stem_channels(const EfficientNetConfig& config);  // the first stage's scaled input
int64_t head_channels(const EfficientNetConfig& config);  // last_channel or 4 × last scaled out
int64_t total_blocks(const EfficientNetConfig& config);   // sum of scaled repeats

// ---- builders ------------------------------------------------------------------------

// The B family's stages scaled by the given coefficients; BatchNorm eps 1e-5, momentum 0.1.
EfficientNetConfig efficientnet_config_from_coefficients(double width_mult, double depth_mult, int64_t resolution,
                                                         double dropout);

// Compound scaling from the paper: depth α^φ, width β^φ, resolution γ^φ with α = 1.2,
// β = 1.1, γ = 1.15 (α·β²·γ² ≈ 2, so FLOPs grow about 2^φ). Any real φ, negative too.
// Resolution: 224·γ^φ rounded to the nearest multiple of 8 (the network's total stride
// is 32, and 8 keeps the stem's output even), at least 32, so every stage has at least
// one pixel. Dropout 0.2 and BatchNorm eps 1e-5 / momentum 0.1 for every φ. The released
// B1…B7 do NOT follow this formula (they use hand-rounded coefficients, see the presets).
constexpr double kAlpha = 1.2, kBeta = 1.1, kGamma = 1.15;
EfficientNetConfig efficientnet_config_from_phi(double phi);
int64_t phi_resolution(double phi);

// The released models, as torchvision defines them (coefficients from the paper's table).
// B5–B7 use BatchNorm eps 1e-3 and momentum 0.01 (TensorFlow's decay 0.99).
EfficientNetConfig efficientnet_b0();
EfficientNetConfig efficientnet_b1();
EfficientNetConfig efficientnet_b2();
EfficientNetConfig efficientnet_b3();
EfficientNetConfig efficientnet_b4();
EfficientNetConfig efficientnet_b5();
EfficientNetConfig efficientnet_b6();
EfficientNetConfig efficientnet_b7();
// EfficientNetV2: FusedMBConv stages then MBConv stages, head 1280, BatchNorm eps 1e-3
// (momentum 0.1), dropout 0.2 / 0.3 / 0.4, training resolution 384 / 480 / 480.
EfficientNetConfig efficientnet_v2_s();
EfficientNetConfig efficientnet_v2_m();
EfficientNetConfig efficientnet_v2_l();

// ---- JSON ----------------------------------------------------------------------------

// Every field, stages as objects {"block", "expand_ratio", "kernel", "stride",
// "in_channels", "out_channels", "repeats"}; last_channel is null when unset.
Json to_json(const EfficientNetConfig& config);
// The inverse of to_json, and more: keys left out keep B0's defaults, and a "phi" key
// starts from efficientnet_config_from_phi(phi) with the other keys applied on top. An
// unknown key, a wrong type or an invalid value is a zoo::Error naming it.
EfficientNetConfig efficientnet_config_from_json(const Json& json);

}  // namespace zoo::models
