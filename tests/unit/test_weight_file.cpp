#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>

#include "core/error.h"
#include "support/test_support.h"
#include "weights/pth.h"
#include "weights/safetensors.h"
#include "weights/torchscript.h"
#include "weights/weight_file.h"

namespace zoo::weights {

// Shared with test_pth.cpp, which defines them: the PyTorch-written fixtures (modes
// "module", "torchscript", "shared", "dtypes", "foreign", ...) and the checks on them.
namespace pth_test {
void make_fixtures(const test::TempDir& dir, const std::string& modes);
std::string error_of(const std::function<void()>& action);
}  // namespace pth_test

namespace {

using pth_test::error_of;
using pth_test::make_fixtures;
using zoo::test::expect_same_tensors;

#define EXPECT_CONTAINS(text, fragment) \
  EXPECT_NE(std::string(text).find(fragment), std::string::npos) << "message: " << (text)

TEST(TorchScript, ReadsParametersAndBuffersInStateDictOrder) {
  test::TempDir dir;
  make_fixtures(dir, "torchscript");
  const NamedTensors expected = read_safetensors(dir.file("expected.safetensors")).tensors;

  const NamedTensors tensors = read_torchscript(dir.file("torchscript.pt"));

  expect_same_tensors(expected, tensors);
  for (const auto& [name, tensor] : tensors) EXPECT_FALSE(tensor.requires_grad()) << name;
}

TEST(TorchScript, OtherFilesGiveAnErrorNamingThem) {
  test::TempDir dir;
  const std::string path = dir.file("weights.safetensors");
  write_safetensors(path, {{"w", torch::ones({2})}});
  const std::string message = error_of([&] { read_torchscript(path); });
  EXPECT_EQ(message.rfind("cannot load TorchScript archive " + path + ": ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "a backtrace leaked into the message: " << message;
  EXPECT_EQ(error_of([&] { read_torchscript(dir.file("absent.pt")); }),
            "cannot open " + dir.file("absent.pt") + ": No such file or directory");
}

TEST(WeightFile, DetectsEachFormatByContentNotByName) {
  test::TempDir dir;
  make_fixtures(dir, "module torchscript");
  const std::string safetensors = dir.file("really_safetensors.pth");
  write_safetensors(safetensors, {{"w", torch::ones({2})}});
  test::write_bytes(dir.file("empty.safetensors"), serialize_safetensors({}));
  test::write_bytes(dir.file("notes.txt"), "these are not weights");
  test::write_bytes(dir.file("zero_bytes.bin"), "");

  EXPECT_EQ(detect_weight_format(safetensors), WeightFormat::safetensors);
  EXPECT_EQ(detect_weight_format(dir.file("empty.safetensors")), WeightFormat::safetensors);
  EXPECT_EQ(detect_weight_format(dir.file("state_dict.pth")), WeightFormat::pth);
  EXPECT_EQ(detect_weight_format(dir.file("legacy.pth")), WeightFormat::pth);
  EXPECT_EQ(detect_weight_format(dir.file("torchscript.pt")), WeightFormat::torchscript);
  for (const char* name : {"notes.txt", "zero_bytes.bin"})
    EXPECT_EQ(
        error_of([&] { detect_weight_format(dir.file(name)); }),
        dir.file(name) +
            ": unknown weight file format (expected safetensors, a torch.save .pth/.pt file or a TorchScript archive)");
  EXPECT_EQ(error_of([&] { detect_weight_format(dir.file("absent")); }),
            "cannot open " + dir.file("absent") + ": No such file or directory");
}

TEST(WeightFile, ReadsTheSameTensorsFromEveryFormat) {
  test::TempDir dir;
  make_fixtures(dir, "module torchscript");
  const NamedTensors expected = read_safetensors(dir.file("expected.safetensors")).tensors;
  for (const char* name :
       {"expected.safetensors", "state_dict.pth", "checkpoint.pth", "parallel.pth", "torchscript.pt"}) {
    SCOPED_TRACE(name);
    expect_same_tensors(expected, read_weights(dir.file(name)));
  }
}

TEST(WeightFile, LegacyPthGivesTheReSaveAdvice) {
  test::TempDir dir;
  make_fixtures(dir, "module");
  EXPECT_CONTAINS(error_of([&] { read_weights(dir.file("legacy.pth")); }), "legacy (pre-1.6) torch.save format");
}

TEST(HostileWeightFile, ReadWeightsPassesTheTrustOnToThePthReader) {
  test::TempDir dir;
  make_fixtures(dir, "foreign");  // a state dict beside an argparse.Namespace
  const std::string path = dir.file("foreign.pth");
  EXPECT_CONTAINS(error_of([&] { read_weights(path); }), "uses the global argparse.Namespace");
  expect_same_tensors(read_safetensors(dir.file("expected.safetensors")).tensors,
                      read_weights(path, PthOptions{/*allow_unknown_globals=*/true}));
}

TEST(WeightFile, FormatNames) {
  EXPECT_EQ(format_name(WeightFormat::safetensors), "safetensors");
  EXPECT_EQ(format_name(WeightFormat::pth), "pth");
  EXPECT_EQ(format_name(WeightFormat::torchscript), "torchscript");
}

}  // namespace
}  // namespace zoo::weights
