// Receptive fields of torchvision's own networks, read from the TorchScript files that
// Debian's PyTorch writes (tools/trace_conv_nets.py), against the published table and
// against the field PyTorch's autograd measures on the real modules.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/analysis/jit_layer_graph.h"
#include "models/analysis/receptive_field.h"
#include "models/analysis/receptive_field_check.h"
#include "support/test_support.h"

using namespace zoo::models::analysis;
using nlohmann::json;
using zoo::test::run_command;
using zoo::test::TempDir;

namespace {

using Region = std::array<std::array<int64_t, 2>, 2>;

json trace(const std::string& model, int64_t size, const TempDir& dir, bool script = false) {
  const auto result = run_command(
      "/usr/bin/python3 " + std::string(ZOO_SOURCE_DIR) + "/tools/trace_conv_nets.py --model " + model +
      " --input-size " + std::to_string(size) + " --out " + dir.path() + (script ? " --script" : "") + " 2>&1");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  std::string output = result.output;  // the JSON is the last line, after any warnings
  while (!output.empty() && output.back() == '\n') output.pop_back();
  return json::parse(output.substr(output.rfind('\n') + 1));
}

Region region_of(const json& r) {
  return {{{r["first"][0].get<int64_t>(), r["last"][0].get<int64_t>()},
           {r["first"][1].get<int64_t>(), r["last"][1].get<int64_t>()}}};
}

void expect_field(const ReceptiveFields& f, const std::string& layer, double field, double jump, double padding) {
  const AxisField& a = f.layers[f.index(layer)].axis[0];
  EXPECT_DOUBLE_EQ(a.field, field) << layer;
  EXPECT_DOUBLE_EQ(a.jump, jump) << layer;
  EXPECT_DOUBLE_EQ(a.effective_padding(), padding) << layer;
}

}  // namespace

TEST(ReceptiveFieldTorchvision, Vgg16AndAlexnetMatchThePublishedTable) {
  TempDir dir;
  const json vgg = trace("vgg16_features", 224, dir);
  const ReceptiveFields f = receptive_fields(layer_graph_from_torchscript(vgg["file"]), {224, 224});
  expect_field(f, "30", 212, 32, 90);  // pool5
  expect_field(f, "23", 100, 16, 42);  // pool4
  expect_field(f, "16", 44, 8, 18);    // pool3
  const json alexnet = trace("alexnet_features", 224, dir);
  const ReceptiveFields a = receptive_fields(layer_graph_from_torchscript(alexnet["file"]), {224, 224});
  EXPECT_DOUBLE_EQ(a.layers[a.last_map()].axis[0].field, 195);
}

// For every net: the analytic field of the last feature map's centre unit is exactly the
// set of pixels PyTorch's autograd finds on the real module, and our surrogate finds it too.
TEST(ReceptiveFieldTorchvision, AnalyticFieldsAreWhatAutogradMeasures) {
  struct Case {
    std::string model;
    int64_t size;
    bool script;
  };
  TempDir dir;
  for (const Case& c : {Case{"resnet18", 480, false}, Case{"resnet50", 480, false}, Case{"efficientnet_b0", 960, false},
                        Case{"dilated", 150, false}, Case{"dilated", 150, true}, Case{"vgg16_features", 224, false}}) {
    SCOPED_TRACE(c.model + (c.script ? " (scripted)" : " (traced)"));
    const json traced = trace(c.model, c.size, dir, c.script);
    const LayerGraph graph = layer_graph_from_torchscript(traced["file"]);
    const ReceptiveFields f = receptive_fields(graph, {c.size, c.size});
    const int last = f.last_map();
    const Region analytic = centre_unit_region(f.layers[last], {c.size, c.size});
    EXPECT_EQ(analytic, region_of(traced["region"])) << f.layers[last].name << "\n" << format_table(f);
    EXPECT_EQ(empirical_region(graph, {c.size, c.size}, last), analytic);
    EXPECT_EQ(f.layers[last].axis[0].size, traced["region"]["output_shape"][2].get<int64_t>());
    EXPECT_TRUE(f.aligned()) << format_table(f);
  }
}

TEST(ReceptiveFieldTorchvision, LayersAreNamedAfterTheirModules) {
  TempDir dir;
  const ReceptiveFields f =
      receptive_fields(layer_graph_from_torchscript(trace("resnet18", 224, dir)["file"]), {224, 224});
  EXPECT_NO_THROW(f.index("conv1"));
  EXPECT_NO_THROW(f.index("maxpool"));
  EXPECT_NO_THROW(f.index("layer1.0.conv2"));
  EXPECT_NO_THROW(f.index("layer2.0.downsample.0"));
  EXPECT_NO_THROW(f.index("layer4.1.add"));
  EXPECT_EQ(f.layers[f.last_map()].name, "layer4.1.add");
}

TEST(ReceptiveFieldTorchvision, AnUnknownOperatorIsNamedWithItsNode) {
  TempDir dir;
  const json traced = trace("unknown_op", 32, dir);
  EXPECT_TRUE(
      zoo::test::throws_error_with([&] { layer_graph_from_torchscript(traced["file"]); }, {"aten::roll", "node %"}));
}
