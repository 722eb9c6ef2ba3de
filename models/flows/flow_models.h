#pragma once
// The three flows of the zoo, each as an option struct and a builder that returns the
// transform for data of a given shape (images [C, H, W] or vectors [D]).
//   nice     Dinh et al. 2014: additive couplings on alternating odd/even halves of the
//            flattened input, m = `layers` × `hidden` ReLU MLPs, a diagonal scaling, a
//            logistic prior (the MNIST configuration: 4 couplings, 5 × 1000).
//   realnvp  Dinh et al. 2016: per scale 3 checkerboard couplings, squeeze, 3 channel
//            couplings, factor out half; 4 checkerboard couplings at the last scale; affine
//            couplings with tanh-bounded scales, residual s/t networks, flow batch norm after
//            every coupling. Vectors: `couplings` affine couplings on alternating halves.
//   glow     Kingma & Dhariwal 2018: L levels of squeeze, K × (actnorm, invertible 1×1
//            convolution, affine coupling with σ(h + 2) scale), split with a learned prior;
//            a learned top prior. Vectors: K steps of the same, with a learned Gaussian base.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/catalogue.h"
#include "core/json_fields.h"
#include "models/flows/transform.h"

namespace zoo::flows {

struct NiceOptions {
  int64_t couplings = 4;
  int64_t hidden = 1000;
  int64_t layers = 5;
  std::string prior = "logistic";
  std::string activation = "relu";  // of the coupling networks (models/nn/activations.h)
};

struct RealNvpOptions {
  int64_t scales = 2;     // images: squeeze-and-split scales before the last one
  int64_t couplings = 8;  // vectors
  int64_t hidden = 64;    // s/t network width (channels for images)
  int64_t blocks = 4;     // residual blocks in each s/t network
  bool batch_norm = true;
  std::string prior = "standard_normal";
  std::string activation = "relu";
};

struct GlowOptions {
  int64_t levels = 2;               // L (images)
  int64_t steps = 8;                // K per level
  int64_t hidden = 256;             // coupling network width
  bool lu = true;                   // LU-decomposed 1×1 convolutions
  std::string coupling = "affine";  // or additive
  bool split_prior = true;
  bool top_prior = true;
  std::string prior = "";  // "" = standard_normal for images, diagonal_gaussian for vectors
  std::string activation = "relu";
};

template <class Visit>
void visit_fields(NiceOptions& o, Visit&& field) {
  field("couplings", o.couplings);
  field("hidden", o.hidden);
  field("layers", o.layers);
  field("prior", o.prior);
  field("activation", o.activation);
}

template <class Visit>
void visit_fields(RealNvpOptions& o, Visit&& field) {
  field("scales", o.scales);
  field("couplings", o.couplings);
  field("hidden", o.hidden);
  field("blocks", o.blocks);
  field("batch_norm", o.batch_norm);
  field("prior", o.prior);
  field("activation", o.activation);
}

template <class Visit>
void visit_fields(GlowOptions& o, Visit&& field) {
  field("levels", o.levels);
  field("steps", o.steps);
  field("hidden", o.hidden);
  field("lu", o.lu);
  field("coupling", o.coupling);
  field("split_prior", o.split_prior);
  field("top_prior", o.top_prior);
  field("prior", o.prior);
  field("activation", o.activation);
}

struct BuiltFlow {
  TransformPtr transform;  // data (after preprocessing) → z, flattened to [B, D]
  std::string prior;       // base distribution name
};

BuiltFlow build_nice(const NiceOptions& options, const std::vector<int64_t>& shape);
BuiltFlow build_realnvp(const RealNvpOptions& options, const std::vector<int64_t>& shape);
BuiltFlow build_glow(const GlowOptions& options, const std::vector<int64_t>& shape);

// NICE, RealNVP and Glow by name: each resolves its options (every default spelled out,
// checked) and builds its transform for one example's shape.
struct FlowKind {
  std::string description;
  std::string image_preprocessing;  // what preprocessing "auto" means for images
  std::function<std::pair<Json, BuiltFlow>(const Json& options, const std::vector<int64_t>& shape)> build;
};
const Catalogue<FlowKind>& flow_kinds();

}  // namespace zoo::flows
