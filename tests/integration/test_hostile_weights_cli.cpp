// The executables that read weight files refuse hostile ones with one error line, and
// convert_weights checks the flags every executable shares.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "support/test_support.h"
#include "weights/safetensors.h"

using namespace std::string_literals;
using zoo::test::expect_clean_error;
using zoo::test::run_zoo;
using zoo::test::TempDir;

namespace {

std::string pickled_str(const std::string& text) {  // BINUNICODE
  const uint32_t size = static_cast<uint32_t>(text.size());
  return "X" + std::string(reinterpret_cast<const char*>(&size), 4) + text;
}

// A torch.save-like file: a state dict {"w": tensor([1., 2.])} beside
// "payload": os.system("touch <marker>"), which Python's pickle would run on loading.
std::string hostile_pth(const std::string& marker) {
  const std::string storage =
      "(" + pickled_str("storage") + "ctorch\nFloatStorage\n" + pickled_str("0") + pickled_str("cpu") + "K\x02tQ";
  // _rebuild_tensor_v2(storage, 0, (2,), (1,), False, {})
  const std::string tensor = "ctorch._utils\n_rebuild_tensor_v2\n(" + storage + "K\x00(K\x02t(K\x01t\x89}tR"s;
  const std::string pickle = "\x80\x02}(" + pickled_str("state_dict") + "}" + pickled_str("w") + tensor + "s" +
                             pickled_str("payload") + "cos\nsystem\n" + pickled_str("touch " + marker) + "\x85R" + "u.";
  const float values[] = {1, 2};
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    out.append(static_cast<const char*>(data), size);
    return size;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("data/0", values, sizeof values);
  writer.writeEndOfFile();
  return out;
}

TEST(HostileWeightsCli, ConvertWeightsChecksTheCommonFlags) {
  TempDir dir;
  const std::string file = dir.file("w.safetensors");
  zoo::weights::write_safetensors(file, {{"w", torch::ones({2})}});
  expect_clean_error("convert_weights", "inspect " + file + " --device tpu", "--device tpu");
  expect_clean_error("convert_weights", "inspect " + file + " --threads -1", "--threads");
  expect_clean_error("convert_weights", "inspect " + file + " --format xml", "--format xml: expected table or json");
}

TEST(HostileWeightsCli, PthGlobalsNeedTheOptInAndAreNeverRun) {
  TempDir dir;
  const std::string pth = dir.file("hostile.pth"), marker = dir.file("pwned");
  zoo::test::write_bytes(pth, hostile_pth(marker));

  const std::string refused = "data.pkl uses the global os.system";
  expect_clean_error("convert_weights", "inspect " + pth, refused);
  expect_clean_error("convert_weights", "convert " + pth + " " + dir.file("out.safetensors"), refused);
  expect_clean_error("classify", "--checkpoint " + pth + " --model efficientnet_b0 --image x.png", refused);
  expect_clean_error("train_classifier", "--out " + dir.file("run") + " --init " + pth + " --limit 64 --steps 1",
                     refused);

  // Trusted, the file is read (and the call is still not made).
  const auto inspected = run_zoo("convert_weights", "inspect " + pth + " --allow-unknown-globals");
  EXPECT_EQ(inspected.exit_code, 0) << inspected.output;
  EXPECT_NE(inspected.output.find("pth, 1 tensors, 2 elements"), std::string::npos) << inspected.output;
  expect_clean_error("classify",
                     "--checkpoint " + pth + " --model efficientnet_b0 --image x.png --allow-unknown-globals",
                     "state dict does not fit the module");
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the pickled command ran";
}

}  // namespace
