#include "models/flows/flow_models.h"

#include <c10/util/accumulate.h>

#include "core/error.h"
#include "models/flows/coupling.h"
#include "models/flows/invertible_conv.h"
#include "models/flows/multiscale.h"
#include "models/flows/normalization.h"
#include "models/flows/squeeze.h"

namespace zoo::flows {

namespace {

// Images [B, C, H, W] ↔ vectors [B, C·H·W]; log|det| = 0.
class FlattenImpl : public TransformImpl {
 public:
  explicit FlattenImpl(std::vector<int64_t> shape) : shape_(std::move(shape)) {}
  FlowResult forward(const torch::Tensor& x) override { return {x.flatten(1), torch::zeros({x.size(0)}, x.options())}; }
  FlowResult inverse(const torch::Tensor& y) override {
    std::vector<int64_t> shape{y.size(0)};
    shape.insert(shape.end(), shape_.begin(), shape_.end());
    return {y.reshape(shape), torch::zeros({y.size(0)}, y.options())};
  }

 private:
  std::vector<int64_t> shape_;
};

void check_shape(const std::vector<int64_t>& shape, const char* model) {
  if (shape.size() != 1 && shape.size() != 3)
    throw Error(std::string(model) + ": expected vectors [D] or images [C, H, W], got " + c10::str(shape),
                ErrorKind::usage);
}

void check_positive(std::initializer_list<int64_t> values, const char* model) {
  for (int64_t v : values)
    if (v < 1) throw Error(std::string(model) + ": sizes and counts must be positive", ErrorKind::usage);
}

std::vector<int64_t> squeezed(const std::vector<int64_t>& shape, const char* model) {
  if (shape[1] % 2 != 0 || shape[2] % 2 != 0)
    throw Error(std::string(model) + ": a squeeze needs even height and width, got " + std::to_string(shape[1]) + "×" +
                    std::to_string(shape[2]) + " (use fewer levels or --image-size)",
                ErrorKind::usage);
  return {shape[0] * 4, shape[1] / 2, shape[2] / 2};
}

TransformPtr sequential(std::vector<TransformPtr> transforms) {
  return std::make_shared<SequentialTransformImpl>(std::move(transforms));
}

TransformPtr coupling(const std::vector<int64_t>& shape, CouplingOptions options) {
  return std::make_shared<CouplingImpl>(shape, std::move(options));
}

}  // namespace

BuiltFlow build_nice(const NiceOptions& o, const std::vector<int64_t>& shape) {
  check_shape(shape, "nice");
  check_positive({o.couplings, o.hidden, o.layers}, "nice");
  const std::vector<int64_t> flat{c10::multiply_integers(shape)};
  std::vector<TransformPtr> layers;
  if (shape.size() == 3) layers.push_back(std::make_shared<FlattenImpl>(shape));
  for (int64_t i = 0; i < o.couplings; ++i) {
    CouplingOptions c;
    c.kind = "additive";
    c.partition = "odd_even";
    c.swap = i % 2 == 1;
    c.net.kind = "mlp";
    c.net.hidden = o.hidden;
    c.net.layers = o.layers;
    c.net.activation = o.activation;
    layers.push_back(coupling(flat, c));
  }
  layers.push_back(std::make_shared<DiagonalScalingImpl>(flat));
  return {sequential(std::move(layers)), o.prior};
}

BuiltFlow build_realnvp(const RealNvpOptions& o, const std::vector<int64_t>& shape) {
  check_shape(shape, "realnvp");
  check_positive({o.couplings, o.hidden, o.blocks}, "realnvp");
  const auto affine = [&](const std::vector<int64_t>& s, const std::string& partition, bool swap) {
    CouplingOptions c;
    c.kind = "affine";
    c.scale = "tanh";
    c.partition = partition;
    c.swap = swap;
    c.net.kind = "resnet";
    c.net.hidden = o.hidden;
    c.net.layers = o.blocks;
    c.net.activation = o.activation;
    return coupling(s, c);
  };
  // `count` couplings alternating their partition, each followed by batch norm.
  const auto stage = [&](std::vector<TransformPtr>& out, const std::vector<int64_t>& s, const std::string& partition,
                         int64_t count) {
    for (int64_t i = 0; i < count; ++i) {
      out.push_back(affine(s, partition, i % 2 == 1));
      if (o.batch_norm) out.push_back(std::make_shared<FlowBatchNormImpl>(s));
    }
  };
  if (shape.size() == 1) {
    std::vector<TransformPtr> layers;
    stage(layers, shape, "halves", o.couplings);
    return {sequential(std::move(layers)), o.prior};
  }
  if (o.scales < 0) throw Error("realnvp: scales must be 0 or positive", ErrorKind::usage);
  std::vector<TransformPtr> levels;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<int64_t> s = shape;
  for (int64_t scale = 0; scale < o.scales; ++scale) {
    std::vector<TransformPtr> level;
    stage(level, s, "checkerboard", 3);
    level.push_back(std::make_shared<SqueezeImpl>());
    s = squeezed(s, "realnvp");
    stage(level, s, "channel", 3);
    levels.push_back(sequential(std::move(level)));
    shapes.push_back(s);
    s[0] /= 2;
  }
  std::vector<TransformPtr> last;
  stage(last, s, "checkerboard", 4);
  levels.push_back(sequential(std::move(last)));
  shapes.push_back(s);
  return {std::make_shared<MultiScaleImpl>(std::move(levels), std::move(shapes), MultiScaleOptions{}), o.prior};
}

BuiltFlow build_glow(const GlowOptions& o, const std::vector<int64_t>& shape) {
  check_shape(shape, "glow");
  check_positive({o.levels, o.steps, o.hidden}, "glow");
  if (o.coupling != "affine" && o.coupling != "additive")
    throw Error("glow: coupling " + o.coupling + ": expected affine or additive", ErrorKind::usage);
  const auto steps = [&](std::vector<TransformPtr>& out, const std::vector<int64_t>& s) {
    for (int64_t k = 0; k < o.steps; ++k) {
      out.push_back(std::make_shared<ActNormImpl>(s));
      out.push_back(std::make_shared<InvertibleConv1x1Impl>(s, o.lu));
      CouplingOptions c;
      c.kind = o.coupling;
      c.scale = "sigmoid";
      c.partition = s.size() == 3 ? "channel" : "halves";
      c.net.kind = "glow";
      c.net.hidden = o.hidden;
      c.net.activation = o.activation;
      out.push_back(coupling(s, c));
    }
  };
  if (shape.size() == 1) {
    std::vector<TransformPtr> layers;
    steps(layers, shape);
    return {sequential(std::move(layers)), o.prior.empty() ? "diagonal_gaussian" : o.prior};
  }
  std::vector<TransformPtr> levels;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<int64_t> s = shape;
  for (int64_t l = 0; l < o.levels; ++l) {
    std::vector<TransformPtr> level{std::make_shared<SqueezeImpl>()};
    s = squeezed(s, "glow");
    steps(level, s);
    levels.push_back(sequential(std::move(level)));
    shapes.push_back(s);
    s[0] /= 2;
  }
  MultiScaleOptions m;
  m.split_prior = o.split_prior;
  m.top_prior = o.top_prior;
  return {std::make_shared<MultiScaleImpl>(std::move(levels), std::move(shapes), m),
          o.prior.empty() ? "standard_normal" : o.prior};
}

namespace {

// A FlowKind for a family whose options struct reads and writes through json_fields.
template <class Options>
FlowKind kind(std::string description, std::string image_preprocessing, const char* what,
              BuiltFlow (*build)(const Options&, const std::vector<int64_t>&)) {
  return {std::move(description), std::move(image_preprocessing),
          [what, build](const Json& options, const std::vector<int64_t>& shape) {
            const auto o = fields_from_json<Options>(options, what);
            return std::pair<Json, BuiltFlow>{fields_to_json(o), build(o, shape)};
          }};
}

}  // namespace

const Catalogue<FlowKind>& flow_kinds() {
  static const Catalogue<FlowKind> kinds(
      "flow model",
      {{"nice",
        kind<NiceOptions>("NICE (additive couplings of MLPs, a diagonal scale)", "unit", "nice config", build_nice)},
       {"realnvp",
        kind<RealNvpOptions>("RealNVP (multi-scale, residual s/t networks)", "logit", "realnvp config", build_realnvp)},
       {"glow", kind<GlowOptions>("Glow (L levels of K steps: actnorm, invertible 1x1 conv, affine coupling)", "center",
                                  "glow config", build_glow)}});
  return kinds;
}

}  // namespace zoo::flows
