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

namespace {

Json stage_to_json(const StageConfig& s) {
  return {{"block", to_string(s.block)},  {"expand_ratio", s.expand_ratio}, {"kernel", s.kernel},  {"stride", s.stride},
          {"in_channels", s.in_channels}, {"out_channels", s.out_channels}, {"repeats", s.repeats}};
}

int64_t get_int(const Json& json, const std::string& key, const std::string& where) {
  return json_int(json.at(key), where + key);
}

double get_real(const Json& json, const std::string& key, const std::string& where) {
  return json_real(json.at(key), where + key);
}

StageConfig stage_from_json(const Json& json, const std::string& where) {
  check_keys(json, {"block", "expand_ratio", "kernel", "stride", "in_channels", "out_channels", "repeats"}, where);
  StageConfig s;
  const std::string field = where + ".";
  if (json.contains("block")) {
    if (!json["block"].is_string()) throw Error(field + "block must be a string, got " + json["block"].dump());
    s.block = parse_block_kind(json["block"].get<std::string>());
  }
  for (const char* key : {"expand_ratio", "kernel", "stride", "in_channels", "out_channels", "repeats"})
    if (!json.contains(key)) throw Error("missing key '" + std::string(key) + "' in " + where);
  s.expand_ratio = get_real(json, "expand_ratio", field);
  s.kernel = get_int(json, "kernel", field);
  s.stride = get_int(json, "stride", field);
  s.in_channels = get_int(json, "in_channels", field);
  s.out_channels = get_int(json, "out_channels", field);
  s.repeats = get_int(json, "repeats", field);
  return s;
}

}  // namespace

Json to_json(const EfficientNetConfig& c) {
  Json stages = Json::array();
  for (const StageConfig& s : c.stages()) stages.push_back(stage_to_json(s));
  return {{"stages", stages},
          {"width_mult", c.width_mult()},
          {"depth_mult", c.depth_mult()},
          {"resolution", c.resolution()},
          {"dropout", c.dropout()},
          {"stochastic_depth_prob", c.stochastic_depth_prob()},
          {"num_classes", c.num_classes()},
          {"in_channels", c.in_channels()},
          {"norm_eps", c.norm_eps()},
          {"norm_momentum", c.norm_momentum()},
          {"last_channel", c.last_channel() ? Json(*c.last_channel()) : Json(nullptr)},
          {"same_padding", c.same_padding()},
          {"activation", c.activation()}};
}

EfficientNetConfig efficientnet_config_from_json(const Json& json) {
  const std::string where = "EfficientNet config";
  check_keys(json,
             {"phi", "stages", "width_mult", "depth_mult", "resolution", "dropout", "stochastic_depth_prob",
              "num_classes", "in_channels", "norm_eps", "norm_momentum", "last_channel", "same_padding", "activation"},
             where);
  const std::string field = where + ": ";
  EfficientNetConfig c =
      json.contains("phi") ? efficientnet_config_from_phi(get_real(json, "phi", field)) : EfficientNetConfig();
  if (json.contains("stages")) {
    if (!json["stages"].is_array()) throw Error(field + "stages must be an array, got " + json["stages"].dump());
    std::vector<StageConfig> stages;
    for (size_t i = 0; i < json["stages"].size(); ++i)
      stages.push_back(stage_from_json(json["stages"][i], "stages[" + std::to_string(i) + "]"));
    c.stages(stages);
  }
  if (json.contains("width_mult")) c.width_mult(get_real(json, "width_mult", field));
  if (json.contains("depth_mult")) c.depth_mult(get_real(json, "depth_mult", field));
  if (json.contains("resolution")) c.resolution(get_int(json, "resolution", field));
  if (json.contains("dropout")) c.dropout(get_real(json, "dropout", field));
  if (json.contains("stochastic_depth_prob")) c.stochastic_depth_prob(get_real(json, "stochastic_depth_prob", field));
  if (json.contains("num_classes")) c.num_classes(get_int(json, "num_classes", field));
  if (json.contains("in_channels")) c.in_channels(get_int(json, "in_channels", field));
  if (json.contains("norm_eps")) c.norm_eps(get_real(json, "norm_eps", field));
  if (json.contains("norm_momentum")) c.norm_momentum(get_real(json, "norm_momentum", field));
  if (json.contains("last_channel")) {
    if (json["last_channel"].is_null())
      c.last_channel(c10::nullopt);
    else
      c.last_channel(get_int(json, "last_channel", field));
  }
  if (json.contains("same_padding")) {
    if (!json["same_padding"].is_boolean())
      throw Error(field + "same_padding must be true or false, got " + json["same_padding"].dump());
    c.same_padding(json["same_padding"].get<bool>());
  }
  if (json.contains("activation")) {
    if (!json["activation"].is_string())
      throw Error(field + "activation must be a string, got " + json["activation"].dump());
    c.activation(json["activation"].get<std::string>());
  }
  validate(c);
  return c;
}

}  // namespace zoo::models
