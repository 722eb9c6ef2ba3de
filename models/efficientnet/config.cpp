#include "models/efficientnet/config.h"

#include <cmath>
#include <set>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/limits.h"
#include "models/nn/activations.h"

namespace zoo::models {

std::string to_string(BlockKind kind) { return kind == BlockKind::mbconv ? "mbconv" : "fused_mbconv"; }

BlockKind parse_block_kind(const std::string& name) {
  if (name == "mbconv") return BlockKind::mbconv;
  if (name == "fused_mbconv") return BlockKind::fused_mbconv;
  throw Error("unknown EfficientNet block kind '" + name + "' (expected mbconv or fused_mbconv)");
}

bool operator==(const StageConfig& a, const StageConfig& b) {
  return a.block == b.block && a.expand_ratio == b.expand_ratio && a.kernel == b.kernel && a.stride == b.stride &&
         a.in_channels == b.in_channels && a.out_channels == b.out_channels && a.repeats == b.repeats;
}

namespace {

StageConfig stage(BlockKind block, double expand, int64_t kernel, int64_t stride, int64_t in, int64_t out,
                  int64_t repeats) {
  return StageConfig{block, expand, kernel, stride, in, out, repeats};
}
StageConfig mb(double e, int64_t k, int64_t s, int64_t i, int64_t o, int64_t n) {
  return stage(BlockKind::mbconv, e, k, s, i, o, n);
}
StageConfig fused(double e, int64_t k, int64_t s, int64_t i, int64_t o, int64_t n) {
  return stage(BlockKind::fused_mbconv, e, k, s, i, o, n);
}

void require(bool ok, const std::string& message) {
  if (!ok) throw Error("invalid EfficientNet config: " + message);
}

EfficientNetConfig released_b(double width, double depth, int64_t resolution, double dropout, bool tf_batch_norm) {
  EfficientNetConfig config = efficientnet_config_from_coefficients(width, depth, resolution, dropout);
  if (tf_batch_norm) config.norm_eps(1e-3).norm_momentum(0.01);
  return config;
}

EfficientNetConfig v2(std::vector<StageConfig> stages, int64_t resolution, double dropout) {
  EfficientNetConfig config;
  config.stages(std::move(stages)).resolution(resolution).dropout(dropout).last_channel(1280).norm_eps(1e-3);
  return config;
}

// The config's sizes against core/limits.h, before a network that large is built (a
// checkpoint's metadata asking for "phi": 25 would otherwise allocate gigabytes before
// failing). Products are formed in double, so that a hostile multiplier is caught before
// it could overflow an integer; only then are the scaled stages computed.
void check_sizes(const EfficientNetConfig& c) {
  const std::string where = "invalid EfficientNet config: ";
  check_limit(where + "num_classes", static_cast<double>(c.num_classes()), kMaxClasses);
  check_limit(where + "in_channels", static_cast<double>(c.in_channels()), kMaxChannels);
  check_limit(where + "resolution", static_cast<double>(c.resolution()), kMaxImageSide);
  if (c.last_channel()) check_limit(where + "last_channel", static_cast<double>(*c.last_channel()), kMaxChannels);
  double blocks = 0;
  for (size_t i = 0; i < c.stages().size(); ++i) {
    const StageConfig& s = c.stages()[i];
    const std::string stage = where + "stages[" + std::to_string(i) + "].";
    const double in = static_cast<double>(s.in_channels) * c.width_mult();
    check_limit(stage + "in_channels x width_mult", in, kMaxChannels);
    check_limit(stage + "out_channels x width_mult", static_cast<double>(s.out_channels) * c.width_mult(),
                kMaxChannels);
    check_limit(stage + "in_channels x width_mult x expand_ratio", in * s.expand_ratio, kMaxChannels);
    blocks += std::ceil(static_cast<double>(s.repeats) * c.depth_mult());
  }
  check_limit(where + "the number of blocks (repeats x depth_mult, over all stages)", blocks, kMaxBlocks);

  // A lower bound on the weights, from the layers every network of this config has: the
  // stem; in each block, a kxk convolution over at least its expanded width (MBConv's
  // depthwise one, FusedMBConv's full one) and a projection from that width to its output
  // (MBConv's last 1x1; FusedMBConv's too, or its one kxk convolution, which is larger);
  // the head convolution and the classifier.
  const std::vector<StageConfig> stages = scaled_stages(c);
  double weights = 9.0 * static_cast<double>(c.in_channels()) * static_cast<double>(stages.front().in_channels);
  for (const StageConfig& s : stages)
    for (int64_t block = 0; block < s.repeats; ++block) {
      const int64_t in = block == 0 ? s.in_channels : s.out_channels;
      const auto expanded = static_cast<double>(make_divisible(static_cast<double>(in) * s.expand_ratio, 8));
      const auto kernel = static_cast<double>(s.kernel);
      weights += kernel * kernel * expanded + expanded * static_cast<double>(s.out_channels);
    }
  const auto head = static_cast<double>(head_channels(c));
  weights += static_cast<double>(stages.back().out_channels) * head + head * static_cast<double>(c.num_classes());
  check_limit(where + "the weights it needs (at least)", weights, kMaxParameters);
}

}  // namespace

std::vector<StageConfig> efficientnet_b_stages() {
  return {mb(1, 3, 1, 32, 16, 1),  mb(6, 3, 2, 16, 24, 2),   mb(6, 5, 2, 24, 40, 2),  mb(6, 3, 2, 40, 80, 3),
          mb(6, 5, 1, 80, 112, 3), mb(6, 5, 2, 112, 192, 4), mb(6, 3, 1, 192, 320, 1)};
}

void validate(const EfficientNetConfig& c) {
  auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  require(positive(c.width_mult()), "width_mult must be a positive number, got " + std::to_string(c.width_mult()));
  require(positive(c.depth_mult()), "depth_mult must be a positive number, got " + std::to_string(c.depth_mult()));
  require(c.resolution() >= 1, "resolution must be at least 1, got " + std::to_string(c.resolution()));
  require(std::isfinite(c.dropout()) && c.dropout() >= 0 && c.dropout() < 1,
          "dropout must be in [0, 1), got " + std::to_string(c.dropout()));
  require(std::isfinite(c.stochastic_depth_prob()) && c.stochastic_depth_prob() >= 0 && c.stochastic_depth_prob() <= 1,
          "stochastic_depth_prob must be in [0, 1], got " + std::to_string(c.stochastic_depth_prob()));
  require(c.num_classes() >= 1, "num_classes must be at least 1, got " + std::to_string(c.num_classes()));
  require(c.in_channels() >= 1, "in_channels must be at least 1, got " + std::to_string(c.in_channels()));
  require(positive(c.norm_eps()), "norm_eps must be positive, got " + std::to_string(c.norm_eps()));
  require(std::isfinite(c.norm_momentum()) && c.norm_momentum() >= 0 && c.norm_momentum() <= 1,
          "norm_momentum must be in [0, 1], got " + std::to_string(c.norm_momentum()));
  if (c.last_channel())
    require(*c.last_channel() >= 1, "last_channel must be at least 1, got " + std::to_string(*c.last_channel()));
  require(!c.stages().empty(), "stages must not be empty");
  for (size_t i = 0; i < c.stages().size(); ++i) {
    const StageConfig& s = c.stages()[i];
    const std::string where = "stages[" + std::to_string(i) + "].";
    require(positive(s.expand_ratio), where + "expand_ratio must be positive");
    require(s.kernel >= 1, where + "kernel must be at least 1");
    require(s.stride == 1 || s.stride == 2, where + "stride must be 1 or 2");
    require(s.in_channels >= 1 && s.out_channels >= 1, where + "in_channels and out_channels must be at least 1");
    require(s.repeats >= 1, where + "repeats must be at least 1");
    if (i > 0)
      require(s.in_channels == c.stages()[i - 1].out_channels, where + "in_channels (" + std::to_string(s.in_channels) +
                                                                   ") must equal the previous stage's out_channels (" +
                                                                   std::to_string(c.stages()[i - 1].out_channels) +
                                                                   ")");
  }
  check_activation(c.activation());
  check_sizes(c);
}

int64_t make_divisible(double value, int64_t divisor, int64_t min_value) {
  if (min_value <= 0) min_value = divisor;
  // Python's int() truncates toward zero; value is positive here.
  const auto rounded = static_cast<int64_t>(value + static_cast<double>(divisor) / 2) / divisor * divisor;
  int64_t result = std::max(min_value, rounded);
  if (static_cast<double>(result) < 0.9 * value) result += divisor;
  return result;
}

int64_t scale_width(int64_t channels, double width_mult) {
  return make_divisible(static_cast<double>(channels) * width_mult, 8);
}

int64_t scale_depth(int64_t repeats, double depth_mult) {
  return static_cast<int64_t>(std::ceil(static_cast<double>(repeats) * depth_mult));
}

std::vector<StageConfig> scaled_stages(const EfficientNetConfig& config) {
  std::vector<StageConfig> stages = config.stages();
  for (StageConfig& s : stages) {
    s.in_channels = scale_width(s.in_channels, config.width_mult());
    s.out_channels = scale_width(s.out_channels, config.width_mult());
    s.repeats = scale_depth(s.repeats, config.depth_mult());
  }
  return stages;
}

int64_t stem_channels(const EfficientNetConfig& config) { return scaled_stages(config).front().in_channels; }

int64_t head_channels(const EfficientNetConfig& config) {
  return config.last_channel() ? *config.last_channel() : 4 * scaled_stages(config).back().out_channels;
}

int64_t total_blocks(const EfficientNetConfig& config) {
  int64_t total = 0;
  for (const StageConfig& s : scaled_stages(config)) total += s.repeats;
  return total;
}

EfficientNetConfig efficientnet_config_from_coefficients(double width_mult, double depth_mult, int64_t resolution,
                                                         double dropout) {
  EfficientNetConfig config;
  config.width_mult(width_mult).depth_mult(depth_mult).resolution(resolution).dropout(dropout);
  validate(config);
  return config;
}

int64_t phi_resolution(double phi) {
  const double r = 224.0 * std::pow(kGamma, phi);
  return std::max<int64_t>(32, static_cast<int64_t>(std::llround(r / 8.0)) * 8);
}

EfficientNetConfig efficientnet_config_from_phi(double phi) {
  if (!std::isfinite(phi) || std::abs(phi) > 50)
    throw Error("invalid EfficientNet phi " + std::to_string(phi) + " (expected a finite number, |phi| <= 50)");
  return efficientnet_config_from_coefficients(std::pow(kBeta, phi), std::pow(kAlpha, phi), phi_resolution(phi), 0.2);
}

EfficientNetConfig efficientnet_b0() { return released_b(1.0, 1.0, 224, 0.2, false); }
EfficientNetConfig efficientnet_b1() { return released_b(1.0, 1.1, 240, 0.2, false); }
EfficientNetConfig efficientnet_b2() { return released_b(1.1, 1.2, 260, 0.3, false); }
EfficientNetConfig efficientnet_b3() { return released_b(1.2, 1.4, 300, 0.3, false); }
EfficientNetConfig efficientnet_b4() { return released_b(1.4, 1.8, 380, 0.4, false); }
EfficientNetConfig efficientnet_b5() { return released_b(1.6, 2.2, 456, 0.4, true); }
EfficientNetConfig efficientnet_b6() { return released_b(1.8, 2.6, 528, 0.5, true); }
EfficientNetConfig efficientnet_b7() { return released_b(2.0, 3.1, 600, 0.5, true); }

EfficientNetConfig efficientnet_v2_s() {
  return v2({fused(1, 3, 1, 24, 24, 2), fused(4, 3, 2, 24, 48, 4), fused(4, 3, 2, 48, 64, 4), mb(4, 3, 2, 64, 128, 6),
             mb(6, 3, 1, 128, 160, 9), mb(6, 3, 2, 160, 256, 15)},
            384, 0.2);
}

EfficientNetConfig efficientnet_v2_m() {
  return v2({fused(1, 3, 1, 24, 24, 3), fused(4, 3, 2, 24, 48, 5), fused(4, 3, 2, 48, 80, 5), mb(4, 3, 2, 80, 160, 7),
             mb(6, 3, 1, 160, 176, 14), mb(6, 3, 2, 176, 304, 18), mb(6, 3, 1, 304, 512, 5)},
            480, 0.3);
}

EfficientNetConfig efficientnet_v2_l() {
  return v2({fused(1, 3, 1, 32, 32, 4), fused(4, 3, 2, 32, 64, 7), fused(4, 3, 2, 64, 96, 7), mb(4, 3, 2, 96, 192, 10),
             mb(6, 3, 1, 192, 224, 19), mb(6, 3, 2, 224, 384, 25), mb(6, 3, 1, 384, 640, 7)},
            480, 0.4);
}

// ---- JSON ----------------------------------------------------------------------------

Json to_json_value(BlockKind kind) { return to_string(kind); }

void read_json_value(const Json& value, const std::string& what, BlockKind& out) {
  std::string name;
  zoo::read_json_value(value, what, name);
  out = parse_block_kind(name);
}

void read_json_value(const Json& value, const std::string& what, StageConfig& out) {
  for (const char* key : {"expand_ratio", "kernel", "stride", "in_channels", "out_channels", "repeats"})
    if (value.is_object() && !value.contains(key)) throw Error("missing key '" + std::string(key) + "' in " + what);
  out = fields_from_json(value, what, StageConfig{});
}

Json to_json(const EfficientNetConfig& c) { return fields_to_json(c); }

EfficientNetConfig efficientnet_config_from_json(const Json& json) {
  const std::string where = "EfficientNet config";
  std::set<std::string> known = field_names<EfficientNetConfig>();
  known.insert("phi");
  check_keys(json, known, where);
  const EfficientNetConfig base = json.contains("phi")
                                      ? efficientnet_config_from_phi(json_real(json["phi"], where + ": phi"))
                                      : EfficientNetConfig();
  Json fields = json;
  fields.erase("phi");
  EfficientNetConfig c = fields_from_json(fields, where, base);
  validate(c);
  return c;
}

}  // namespace zoo::models
