// Receptive fields from JSON layer specs: published values (google-research/receptive_field,
// ../shared/REFERENCE.md), agreement with back-propagation through LibTorch's own layers,
// several paths, global context, minimum input sizes and bad specs.
#include <gtest/gtest.h>

#include "models/analysis/jit_layer_graph.h"
#include "models/analysis/layer_spec.h"
#include "models/analysis/receptive_field.h"
#include "models/analysis/receptive_field_check.h"
#include "models/registry.h"
#include "support/test_support.h"

using namespace zoo::models::analysis;
using zoo::Json;
using zoo::test::throws_error_with;

namespace {

Json conv(const std::string& name, Json fields = Json::object()) {
  fields["name"] = name;
  fields["type"] = "conv";
  if (!fields.contains("kernel")) fields["kernel"] = 3;
  return fields;
}

Json pool(const std::string& name, Json fields = Json::object()) {
  fields["name"] = name;
  fields["type"] = "max_pool";
  if (!fields.contains("kernel")) fields["kernel"] = 2;
  return fields;
}

// VGG-16's convolutional part: 3×3 convolutions with padding 1, 2×2 pooling with stride 2.
Json vgg16_spec() {
  Json layers = Json::array();
  const int convs[] = {2, 2, 3, 3, 3};
  for (int block = 0; block < 5; ++block) {
    for (int i = 0; i < convs[block]; ++i)
      layers.push_back(conv("conv" + std::to_string(block + 1) + "_" + std::to_string(i + 1), {{"padding", 1}}));
    layers.push_back(pool("pool" + std::to_string(block + 1)));
  }
  return layers;
}

void expect_field(const ReceptiveFields& f, const std::string& layer, double field, double jump, double padding) {
  const LayerField& l = f.layers[f.index(layer)];
  for (int a = 0; a < 2; ++a) {
    EXPECT_DOUBLE_EQ(l.axis[a].field, field) << layer;
    EXPECT_DOUBLE_EQ(l.axis[a].jump, jump) << layer;
    EXPECT_DOUBLE_EQ(l.axis[a].effective_padding(), padding) << layer;
  }
}

void expect_empirical_agrees(const LayerGraph& graph, std::array<int64_t, 2> size) {
  const ReceptiveFields f = receptive_fields(graph, size);
  for (size_t i = 1; i < graph.nodes.size(); ++i)
    EXPECT_EQ(empirical_region(graph, size, static_cast<int>(i)), centre_unit_region(f.layers[i], size))
        << graph.nodes[i].name;
}

}  // namespace

TEST(ReceptiveField, Vgg16MatchesThePublishedTable) {
  const ReceptiveFields f = receptive_fields(layer_graph_from_spec(vgg16_spec()), {224, 224});
  expect_field(f, "pool5", 212, 32, 90);
  expect_field(f, "pool4", 100, 16, 42);
  expect_field(f, "pool3", 44, 8, 18);
  EXPECT_EQ(f.layers[f.index("pool5")].axis[0].size, 7);
  EXPECT_TRUE(f.aligned());
}

TEST(ReceptiveField, AlexnetFeaturesSee195Pixels) {
  const Json spec = {conv("conv1", {{"kernel", 11}, {"stride", 4}, {"padding", 2}}),
                     pool("pool1", {{"kernel", 3}, {"stride", 2}}),
                     conv("conv2", {{"kernel", 5}, {"padding", 2}}),
                     pool("pool2", {{"kernel", 3}, {"stride", 2}}),
                     conv("conv3", {{"padding", 1}}),
                     conv("conv4", {{"padding", 1}}),
                     conv("conv5", {{"padding", 1}}),
                     pool("pool5", {{"kernel", 3}, {"stride", 2}})};
  const ReceptiveFields f = receptive_fields(layer_graph_from_spec(spec), {224, 224});
  EXPECT_DOUBLE_EQ(f.layers[f.index("pool5")].axis[0].field, 195);
  EXPECT_DOUBLE_EQ(f.layers[f.index("pool5")].axis[0].jump, 32);
}

TEST(ReceptiveField, SinglePathAgreesWithBackPropagationExactly) {
  // Dilation, rectangular kernels, asymmetric padding, ceil-mode pooling, explicit padding.
  const Json spec = {
      conv("a", {{"kernel", 3}, {"padding", 1}}),
      conv("b", {{"kernel", 3}, {"dilation", 2}, {"padding", 2}}),
      conv("c", {{"kernel", {3, 5}}, {"stride", 2}, {"dilation", {4, 1}}, {"padding", {{1, 0}, {2, 1}}}}),
      pool("d", {{"kernel", 3}, {"stride", 2}, {"padding", 1}, {"ceil_mode", true}}),
      {{"name", "e"}, {"type", "pad"}, {"padding", {{2, 0}, {1, 0}}}},
      conv("f", {{"kernel", 5}, {"dilation", 3}}),
      {{"name", "g"}, {"type", "avg_pool"}, {"kernel", 2}, {"stride", 1}}};
  expect_empirical_agrees(layer_graph_from_spec(spec), {97, 90});
  expect_empirical_agrees(layer_graph_from_spec(vgg16_spec()), {224, 224});
}

TEST(ReceptiveField, SamePaddingSplitsTheOverhangLikeTensorFlow) {
  const Json spec = {conv("a", {{"kernel", 3}, {"stride", 2}, {"padding", "same"}}),
                     conv("b", {{"kernel", 4}, {"padding", "same"}})};
  const LayerGraph graph = layer_graph_from_spec(spec);
  const ReceptiveFields f = receptive_fields(graph, {224, 225});
  // 224 → 112 needs one pixel of padding, all after; 225 → 113 needs two, one each side.
  EXPECT_EQ(f.layers[1].window[0].pad_before, 0);
  EXPECT_EQ(f.layers[1].window[0].pad_after, 1);
  EXPECT_EQ(f.layers[1].window[1].pad_before, 1);
  EXPECT_EQ(f.layers[1].axis[0].size, 112);
  EXPECT_EQ(f.layers[1].axis[1].size, 113);
  EXPECT_DOUBLE_EQ(f.layers[1].axis[0].start, 1.5);  // the first window covers pixels 0..2
  EXPECT_DOUBLE_EQ(f.layers[1].axis[1].start, 0.5);
  expect_empirical_agrees(graph, {224, 225});
}

TEST(ReceptiveField, AlignedResidualPathsAndTheLargestField) {
  // A ResNet downsampling block: 3×3/2 then 3×3 against a 1×1/2 shortcut.
  const Json spec = {conv("stem", {{"kernel", 7}, {"stride", 2}, {"padding", 3}}),
                     conv("a", {{"stride", 2}, {"padding", 1}}),
                     conv("b", {{"padding", 1}}),
                     conv("shortcut", {{"kernel", 1}, {"stride", 2}, {"inputs", {"stem"}}}),
                     {{"name", "sum"}, {"type", "add"}, {"inputs", {"b", "shortcut"}}}};
  const LayerGraph graph = layer_graph_from_spec(spec);
  const ReceptiveFields f = receptive_fields(graph, {64, 64});
  EXPECT_TRUE(f.aligned());
  const LayerField& sum = f.layers[f.index("sum")];
  EXPECT_DOUBLE_EQ(sum.axis[0].field, f.layers[f.index("b")].axis[0].field);
  EXPECT_DOUBLE_EQ(sum.axis[0].field, 7 + 2 * 2 + 2 * 4);
  expect_empirical_agrees(graph, {64, 64});
}

TEST(ReceptiveField, MisalignedPathsAreReported) {
  // Same sizes, but the 2×2/2 path's units are centred half a pixel right of the 1×1/2 path's.
  const Json spec = {conv("a", {{"kernel", 2}, {"stride", 2}}),
                     conv("b", {{"kernel", 1}, {"stride", 2}, {"inputs", {"input"}}}),
                     {{"name", "sum"}, {"type", "add"}, {"inputs", {"a", "b"}}}};
  const ReceptiveFields f = receptive_fields(layer_graph_from_spec(spec), {32, 32});
  EXPECT_FALSE(f.aligned());
  const LayerField& sum = f.layers[f.index("sum")];
  EXPECT_FALSE(sum.aligned);
  EXPECT_NE(sum.misalignment.find("centre"), std::string::npos) << sum.misalignment;
  EXPECT_NE(zoo::models::analysis::format_table(f).find("MISALIGNED"), std::string::npos);
}

TEST(ReceptiveField, InceptionBranchesConcatenateToTheLargestField) {
  const Json spec = {conv("stem", {{"stride", 2}, {"padding", 1}}),
                     conv("b1", {{"kernel", 1}}),
                     conv("b3", {{"padding", 1}, {"inputs", {"stem"}}}),
                     conv("b5", {{"kernel", 5}, {"padding", 2}, {"inputs", {"stem"}}}),
                     {{"name", "cat"}, {"type", "concat"}, {"inputs", {"b1", "b3", "b5"}}}};
  const LayerGraph graph = layer_graph_from_spec(spec);
  const ReceptiveFields f = receptive_fields(graph, {40, 40});
  EXPECT_TRUE(f.aligned());
  EXPECT_DOUBLE_EQ(f.layers[f.index("cat")].axis[1].field, 3 + 4 * 2);
  expect_empirical_agrees(graph, {40, 40});
}

TEST(ReceptiveField, UpsamplingHalvesTheJumpAndKeepsTheField) {
  const Json spec = {conv("down", {{"kernel", 4}, {"stride", 2}, {"padding", 1}}),
                     {{"name", "up"}, {"type", "upsample"}, {"scale", 2}},
                     {{"name", "skip"}, {"type", "concat"}, {"inputs", {"up", "input"}}}};
  const ReceptiveFields f = receptive_fields(layer_graph_from_spec(spec), {32, 32});
  const LayerField& up = f.layers[f.index("up")];
  EXPECT_EQ(up.axis[0].size, 32);
  EXPECT_DOUBLE_EQ(up.axis[0].jump, 1);
  EXPECT_DOUBLE_EQ(up.axis[0].field, 4);
  EXPECT_DOUBLE_EQ(f.layers[f.index("skip")].axis[0].field, 4);
}

TEST(ReceptiveField, GlobalPoolingBroadcastBackIsGlobalContextNotLocalField) {
  // Squeeze-and-excitation: the map times a function of its global average.
  const Json spec = {conv("conv", {{"padding", 1}}),
                     {{"name", "squeeze"}, {"type", "adaptive_pool"}, {"output_size", 1}},
                     conv("excite", {{"kernel", 1}}),
                     {{"name", "scale"}, {"type", "mul"}, {"inputs", {"conv", "excite"}}}};
  const LayerGraph graph = layer_graph_from_spec(spec);
  const ReceptiveFields f = receptive_fields(graph, {20, 20});
  const int scale = f.index("scale");
  EXPECT_TRUE(f.layers[scale].global_context);
  EXPECT_TRUE(f.layers[scale].aligned);
  EXPECT_DOUBLE_EQ(f.layers[scale].axis[0].field, 3);
  EXPECT_EQ(empirical_region(graph, {20, 20}, scale), centre_unit_region(f.layers[scale], {20, 20}));
  const std::array<std::array<int64_t, 2>, 2> whole{{{0, 19}, {0, 19}}};
  EXPECT_EQ(empirical_region(graph, {20, 20}, scale, /*global_context=*/true), whole);
}

TEST(ReceptiveField, TooSmallAnInputNamesTheMinimum) {
  const LayerGraph graph = layer_graph_from_spec(vgg16_spec());
  EXPECT_EQ(minimum_input_size(graph), (std::array<int64_t, 2>{32, 32}));
  EXPECT_TRUE(throws_error_with(
      [&] {
        receptive_fields(graph, {31, 224});
      },
      {"input 31x224", "minimum 32x32", "pool5"}));
  EXPECT_NO_THROW(receptive_fields(graph, {32, 32}));
}

TEST(ReceptiveField, BadSpecsNameTheLayerAndTheField) {
  EXPECT_TRUE(throws_error_with(
      [] {
        layer_graph_from_spec(Json::array({{{"name", "c1"}, {"type", "conv"}}}));
      },
      {"c1", "missing field kernel"}));
  EXPECT_TRUE(throws_error_with(
      [] {
        layer_graph_from_spec(Json::array({{{"kernel", 3}}}));
      },
      {"layer 0", "missing field type"}));
  EXPECT_TRUE(throws_error_with(
      [] {
        layer_graph_from_spec(Json::array({conv("c1", {{"strides", 2}})}));
      },
      {"c1", "strides"}));
  EXPECT_TRUE(throws_error_with(
      [] {
        layer_graph_from_spec(Json::array({{{"type", "deconv"}}}));
      },
      {"unknown type deconv"}));
  EXPECT_TRUE(throws_error_with(
      [] {
        layer_graph_from_spec(Json::array({conv("c1", {{"inputs", {"c9"}}})}));
      },
      {"c1", "c9", "not an earlier layer"}));
  // Paths of different sizes are found when the sizes are known.
  const LayerGraph mismatched =
      layer_graph_from_spec(Json::array({conv("a"),
                                         conv("b", {{"inputs", {"input"}}, {"padding", 1}}),
                                         {{"name", "sum"}, {"type", "add"}, {"inputs", {"a", "b"}}}}));
  EXPECT_TRUE(throws_error_with([&] { receptive_fields(mismatched, {16, 16}); }, {"sum", "14 and 16"}));
}

TEST(ReceptiveField, ZooEfficientNetTracedHereAgreesWithBackPropagation) {
  zoo::models::Classifier net = zoo::models::build_classifier("efficientnet_b0", {{"num_classes", 10}});
  // At 960 pixels the centre unit's 851-pixel field lies inside the input, so the regions
  // compared are not simply the whole picture.
  const LayerGraph graph =
      layer_graph_from_module(net.module(), [&](const torch::Tensor& x) { return net.forward(x); }, {1, 3, 960, 960});
  const ReceptiveFields f = receptive_fields(graph, {960, 960});
  const int last = f.last_map();
  EXPECT_EQ(f.layers[last].name, "features.8.0");  // the 1×1 head convolution, named after its weight
  EXPECT_TRUE(f.layers[last].global_context);
  EXPECT_TRUE(f.aligned());
  EXPECT_EQ(f.layers[last].axis[0].jump, 32);
  const auto region = centre_unit_region(f.layers[last], {960, 960});
  EXPECT_GT(region[0][0], 0);
  EXPECT_EQ(empirical_region(graph, {960, 960}, last), region);
  EXPECT_TRUE(net.module().is_training());  // its mode is restored
  for (const auto& p : net.module().parameters()) ASSERT_TRUE(p.requires_grad());
}
