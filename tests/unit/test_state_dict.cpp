#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.h"
#include "support/test_support.h"
#include "weights/safetensors.h"
#include "weights/state_dict.h"

namespace zoo::weights {
namespace {

namespace nn = torch::nn;

struct BlockImpl : nn::Module {
  BlockImpl() {
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(4, 4, 3).padding(1)));
    bn = register_module("bn", nn::BatchNorm2d(4));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::relu(bn(conv(x))); }
  nn::Conv2d conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(Block);

// Linear, Conv2d, BatchNorm2d, a nested module and a buffer registered after the modules.
struct NetImpl : nn::Module {
  NetImpl() {
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(3, 4, 3).padding(1)));
    bn = register_module("bn", nn::BatchNorm2d(4));
    block = register_module("block", Block());
    fc = register_module("fc", nn::Linear(4, 2));
    scale = register_buffer("scale", torch::full({1}, 1.5));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc(block(torch::relu(bn(conv(x)))).mean({2, 3})) * scale; }
  nn::Conv2d conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
  Block block{nullptr};
  nn::Linear fc{nullptr};
  torch::Tensor scale;
};
TORCH_MODULE(Net);

// What torch.nn.Module.state_dict() lists for the same module in PyTorch 1.13: the root's
// own buffer first, then each submodule's parameters and buffers.
const std::vector<std::string> kPyTorchNames = {
    "scale",
    "conv.weight",
    "conv.bias",
    "bn.weight",
    "bn.bias",
    "bn.running_mean",
    "bn.running_var",
    "bn.num_batches_tracked",
    "block.conv.weight",
    "block.conv.bias",
    "block.bn.weight",
    "block.bn.bias",
    "block.bn.running_mean",
    "block.bn.running_var",
    "block.bn.num_batches_tracked",
    "fc.weight",
    "fc.bias",
};

// A net with its own weights and BatchNorm statistics moved away from their defaults by
// a few training-mode passes; left in eval mode.
Net make_net(uint64_t seed) {
  torch::manual_seed(seed);
  Net net;
  torch::NoGradGuard no_grad;
  for (int step = 0; step < 3; ++step) net->forward(torch::randn({4, 3, 6, 6}));
  net->eval();
  return net;
}

std::vector<std::string> names(const NamedTensors& tensors) {
  std::vector<std::string> out;
  for (const auto& item : tensors) out.push_back(item.first);
  return out;
}

NamedTensors cloned_state(const nn::Module& module) {
  NamedTensors out = state_dict(module);
  for (auto& item : out) item.second = item.second.clone();
  return out;
}

torch::Tensor find(const NamedTensors& tensors, const std::string& name) {
  for (const auto& item : tensors)
    if (item.first == name) return item.second;
  ADD_FAILURE() << "no tensor " << name;
  return {};
}

void expect_state_equal(const NamedTensors& expected, const nn::Module& module) {
  const NamedTensors actual = state_dict(module);
  ASSERT_EQ(names(actual), names(expected));
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_TRUE(torch::equal(actual[i].second, expected[i].second)) << actual[i].first;
}

// The state of `source` with fc.bias left out, an extra key added and conv.weight of the
// wrong shape: one key of each kind of problem.
NamedTensors broken_state(const Net& source) {
  NamedTensors tensors = state_dict(*source);
  tensors.erase(std::find_if(tensors.begin(), tensors.end(), [](const auto& item) { return item.first == "fc.bias"; }));
  tensors.emplace_back("extra.weight", torch::ones({2}));
  for (auto& item : tensors)
    if (item.first == "conv.weight") item.second = torch::zeros({2, 3, 3, 3});
  return tensors;
}

TEST(StateDict, NamesAreExactlyPyTorchs) {
  Net net;
  const NamedTensors tensors = state_dict(*net);
  EXPECT_EQ(names(tensors), kPyTorchNames);
  for (const auto& [name, tensor] : tensors) EXPECT_FALSE(tensor.requires_grad()) << name;
  EXPECT_EQ(find(tensors, "bn.num_batches_tracked").scalar_type(), torch::kLong);
  EXPECT_EQ(find(tensors, "fc.weight").data_ptr(), net->fc->weight.data_ptr()) << "state dict must share storage";
}

TEST(StateDict, LeavesOutAbsentTensors) {
  nn::Linear linear(nn::LinearOptions(2, 3).bias(false));
  EXPECT_EQ(names(state_dict(*linear)), std::vector<std::string>{"weight"});
}

TEST(StateDict, RoundTripThroughSafeTensorsGivesIdenticalOutputs) {
  Net source = make_net(1);
  Net target = make_net(2);
  const torch::Tensor x = torch::randn({2, 3, 6, 6});
  ASSERT_FALSE(torch::equal(source->forward(x), target->forward(x)));
  test::TempDir dir;
  write_safetensors(dir.file("net.safetensors"), state_dict(*source));

  const LoadReport report = load_state_dict(*target, read_safetensors(dir.file("net.safetensors")).tensors);

  EXPECT_TRUE(report.ok()) << report.summary();
  EXPECT_EQ(report.loaded, kPyTorchNames);
  EXPECT_EQ(report.summary(), "loaded 17 tensors");
  expect_state_equal(state_dict(*source), *target);
  EXPECT_EQ(target->bn->num_batches_tracked.item<int64_t>(), 3);
  EXPECT_TRUE(torch::equal(source->forward(x), target->forward(x)));
}

TEST(StateDict, StrictLoadNamesEveryProblemAndLoadsNothing) {
  Net source = make_net(1);
  Net target = make_net(2);
  const NamedTensors before = cloned_state(*target);

  try {
    load_state_dict(*target, broken_state(source));
    FAIL() << "strict load accepted a state dict that does not fit";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const char* part : {"missing: fc.bias", "unexpected: extra.weight",
                             "mismatched: conv.weight: expected [4, 3, 3, 3] float, got [2, 3, 3, 3] float"})
      EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  }
  expect_state_equal(before, *target);
}

TEST(StateDict, NonStrictLoadsWhatFitsAndReportsTheRest) {
  Net source = make_net(1);
  Net target = make_net(2);
  const NamedTensors before = cloned_state(*target);

  const LoadReport report = load_state_dict(*target, broken_state(source), /*strict=*/false);

  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.missing, std::vector<std::string>{"fc.bias"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"extra.weight"});
  EXPECT_EQ(report.mismatched,
            std::vector<std::string>{"conv.weight: expected [4, 3, 3, 3] float, got [2, 3, 3, 3] float"});
  EXPECT_EQ(report.loaded.size(), kPyTorchNames.size() - 2);
  EXPECT_EQ(report.summary().rfind("loaded 15 tensors; missing: fc.bias; unexpected: extra.weight; mismatched: ", 0),
            0u)
      << report.summary();
  EXPECT_TRUE(torch::equal(target->fc->weight, source->fc->weight));
  EXPECT_TRUE(torch::equal(target->block->bn->running_var, source->block->bn->running_var));
  EXPECT_TRUE(torch::equal(target->fc->bias, find(before, "fc.bias")));
  EXPECT_TRUE(torch::equal(target->conv->weight, find(before, "conv.weight")));
}

TEST(StateDict, CastsBetweenFloatTypesButNotIntoIntegerBuffers) {
  Net source = make_net(1);
  Net target = make_net(2);
  NamedTensors tensors = state_dict(*source);
  for (auto& item : tensors)
    if (item.second.is_floating_point()) item.second = item.second.to(torch::kDouble);

  EXPECT_TRUE(load_state_dict(*target, tensors).ok());
  expect_state_equal(state_dict(*source), *target);

  for (auto& item : tensors)
    if (item.first == "bn.num_batches_tracked") item.second = torch::tensor(3.0f);
  const LoadReport report = load_state_dict(*target, tensors, /*strict=*/false);
  EXPECT_EQ(report.mismatched, std::vector<std::string>{"bn.num_batches_tracked: expected [] long, got [] float"});
}

TEST(StateDict, RepeatedNameIsAnError) {
  nn::Linear linear(2, 3);
  EXPECT_THROW(load_state_dict(*linear, {{"weight", torch::ones({3, 2})}, {"weight", torch::ones({3, 2})}}), Error);
}

}  // namespace
}  // namespace zoo::weights
