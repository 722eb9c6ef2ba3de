// EfficientNet against torchvision itself (Debian's python3-torchvision under /usr/bin/python3):
// the same state_dict names and shapes in the same order, the same parameter counts, and
// the same logits from the same random weights (tools/export_torchvision.py writes them).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "models/registry.h"
#include "support/test_support.h"
#include "weights/safetensors.h"
#include "weights/state_dict.h"
#include "weights/weight_file.h"

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

// Same random weights, same input: the same logits (and so the same labels), whichever
// of the three files PyTorch wrote them to.
TEST(EfficientNetTorchvision, LogitsMatchFromEveryWeightFormat) {
  struct Case {
    std::string name;
    int64_t image_size;
  };
  for (const Case& c : {Case{"efficientnet_b0", 224}, Case{"efficientnet_b1", 160}, Case{"efficientnet_b4", 128},
                        Case{"efficientnet_b5", 128}, Case{"efficientnet_v2_s", 128}}) {
    TempDir dir;
    run_export("--model " + c.name + " --image-size " + std::to_string(c.image_size) + " --batch 2 --out " +
               dir.path());
    torch::NoGradGuard no_grad;
    const torch::Tensor input = zoo::weights::read_safetensors(dir.file("input.safetensors")).at("input");
    const torch::Tensor expected = zoo::weights::read_safetensors(dir.file("logits.safetensors")).at("logits");
    EXPECT_GT(expected.std().item<double>(), 1e-3)
        << c.name << ": the logits must differ for the check to mean anything";
    for (const std::string file : {"weights.safetensors", "weights.pth", "model.pt"}) {
      zoo::models::Classifier net = zoo::models::build_classifier(c.name);
      const auto tensors = zoo::weights::read_weights(dir.file(file));
      const auto report = zoo::weights::load_state_dict(net.module(), tensors);
      ASSERT_TRUE(report.ok()) << c.name << " " << file << ": " << report.summary();
      net.module().eval();
      const torch::Tensor logits = net.forward(input);
      ASSERT_EQ(logits.sizes(), expected.sizes());
      EXPECT_LE((logits - expected).abs().max().item<double>(), 1e-4) << c.name << " from " << file;
      EXPECT_TRUE(logits.argmax(1).equal(expected.argmax(1))) << c.name << " from " << file;
    }
  }
}

// The other way: a zoo model's weights, written by zoo in each format, load into
// torchvision in Python and give zoo's logits.
TEST(EfficientNetTorchvision, ZooWeightsLoadIntoTorchvision) {
  TempDir dir;
  torch::manual_seed(4);
  zoo::models::Classifier net = zoo::models::build_classifier("efficientnet_b0", {{"num_classes", 10}});
  net.module().train();
  {
    torch::NoGradGuard no_grad;  // a few training-mode passes give BatchNorm real statistics
    for (int i = 0; i < 3; ++i) net.forward(torch::randn({4, 3, 64, 64}));
  }
  net.module().eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor input = torch::randn({2, 3, 96, 96});
  const torch::Tensor logits = net.forward(input);
  const auto tensors = zoo::weights::state_dict(net.module());
  zoo::weights::write_weights(dir.file("w.safetensors"), zoo::weights::WeightFormat::safetensors, tensors);
  zoo::weights::write_weights(dir.file("w.pth"), zoo::weights::WeightFormat::pth, tensors);
  zoo::weights::write_weights(dir.file("w.pt"), zoo::weights::WeightFormat::torchscript, tensors);
  zoo::weights::write_safetensors(dir.file("io.safetensors"), {{"input", input}, {"logits", logits}});
  zoo::test::write_bytes(dir.file("check.py"), R"(
import json, struct, sys, torch, torchvision
def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__": continue
        dtype = {"F32": torch.float32, "I64": torch.int64}[e["dtype"]]
        b, end = e["data_offsets"]
        out[name] = torch.frombuffer(bytearray(body[b:end]), dtype=dtype).reshape(e["shape"]) if end > b else torch.zeros(e["shape"], dtype=dtype)
    return out
d = sys.argv[1]
io = read_safetensors(d + "/io.safetensors")
worst = 0.0
for state in (read_safetensors(d + "/w.safetensors"), torch.load(d + "/w.pth"), torch.jit.load(d + "/w.pt").state_dict()):
    model = torchvision.models.efficientnet_b0(num_classes=10).eval()
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        worst = max(worst, (model(io["input"]) - io["logits"]).abs().max().item())
print(worst)
sys.exit(0 if worst <= 1e-4 else 1)
)");
  const auto result = run_command(kPython + " " + dir.file("check.py") + " " + dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.output;
}
