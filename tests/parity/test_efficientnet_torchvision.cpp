// EfficientNet against torchvision itself (Debian's python3-torchvision under /usr/bin/python3):
// the same state_dict names and shapes in the same order, the same parameter counts, and
// the same logits from the same random weights (tools/export_torchvision.py writes them).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "models/registry.h"
#include "support/test_support.h"
#include "weights/safetensors.h"
#include "weights/state_dict.h"

using nlohmann::json;
using zoo::test::run_command;
using zoo::test::TempDir;

namespace {

const std::string kPython = "/usr/bin/python3";
const std::string kExport = std::string(ZOO_SOURCE_DIR) + "/tools/export_torchvision.py";

// Runs the export script and parses the JSON on its last line of output.
json run_export(const std::string& arguments) {
  const auto result = run_command(kPython + " " + kExport + " " + arguments + " 2>&1");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  std::string output = result.output;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  const size_t line = output.rfind('\n');
  return json::parse(line == std::string::npos ? output : output.substr(line + 1));
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST(EfficientNetTorchvision, StateDictNamesAndShapesMatchInOrder) {
  for (const std::string name : {"efficientnet_b0", "efficientnet_b4", "efficientnet_v2_s"}) {
    const json theirs = run_export("--keys --model " + name);
    const auto ours = zoo::weights::state_dict(*zoo::models::build_model(name));
    ASSERT_EQ(ours.size(), theirs.size()) << name;
    for (size_t i = 0; i < ours.size(); ++i) {
      EXPECT_EQ(ours[i].first, theirs[i][0].get<std::string>()) << name << " entry " << i;
      EXPECT_EQ(ours[i].second.sizes().vec(), theirs[i][1].get<std::vector<int64_t>>()) << name << " " << ours[i].first;
    }
  }
}

TEST(EfficientNetTorchvision, ParameterCountsMatchEveryPreset) {
  std::string names;
  for (const std::string& n : zoo::models::model_names())
    if (n != "efficientnet_phi" && n.rfind("efficientnet_", 0) == 0) names += (names.empty() ? "" : ",") + n;
  const json theirs = run_export("--param-counts " + names);
  ASSERT_EQ(theirs.size(), 11u) << theirs.dump();
  for (const auto& item : theirs.items())
    EXPECT_EQ(count_parameters(*zoo::models::build_model(item.key())), item.value().get<int64_t>()) << item.key();
}

// Same random weights, same input: the same logits (and so the same labels).
TEST(EfficientNetTorchvision, LogitsMatchOnTorchvisionWeights) {
  struct Case {
    std::string name;
    int64_t image_size;
  };
  for (const Case& c : {Case{"efficientnet_b0", 224}, Case{"efficientnet_b1", 160}, Case{"efficientnet_v2_s", 128}}) {
    TempDir dir;
    run_export("--no-torchscript --model " + c.name + " --image-size " + std::to_string(c.image_size) + " --out " +
               dir.path());
    zoo::models::Classifier net = zoo::models::build_classifier(c.name);
    const auto weights = zoo::weights::read_safetensors(dir.file("weights.safetensors"));
    EXPECT_EQ(weights.metadata.at("model"), c.name);
    const auto report = zoo::weights::load_state_dict(net.module(), weights.tensors);
    ASSERT_TRUE(report.ok()) << report.summary();
    EXPECT_EQ(report.loaded.size(), weights.tensors.size());

    net.module().eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor input = zoo::weights::read_safetensors(dir.file("input.safetensors")).at("input");
    const torch::Tensor expected = zoo::weights::read_safetensors(dir.file("logits.safetensors")).at("logits");
    const torch::Tensor logits = net.forward(input);
    ASSERT_EQ(logits.sizes(), expected.sizes());
    const double max_abs = (logits - expected).abs().max().item<double>();
    EXPECT_LE(max_abs, 1e-4) << c.name << " (logits up to " << expected.abs().max().item<double>() << ")";
    EXPECT_TRUE(logits.argmax(1).equal(expected.argmax(1))) << c.name;
    // The comparison means something: the logits are not all alike.
    EXPECT_GT(expected.std().item<double>(), 1e-3) << c.name;
  }
}
