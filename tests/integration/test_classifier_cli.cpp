// train_classifier, classify and convert_weights end to end on a slice of Fashion-MNIST.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/autocast.h"
#include "core/image.h"
#include "core/metrics_log.h"
#include "data/spec.h"
#include "support/test_support.h"
#include "weights/safetensors.h"

using nlohmann::json;
using zoo::test::expect_clean_error;
using zoo::test::run_zoo;
using zoo::test::TempDir;

// One small run (a tiny EfficientNet, φ = −3, at 32×32 on 1,500 images), then everything
// that reads it, in one test so that the run is trained once.
TEST(ClassifierCli, TrainClassifyAndConvert) {
  TempDir dir;
  const std::string run = dir.file("run");
  // Small batches at a modest rate, without augmentation, dropout or stochastic depth: of
  // the configurations tried, the one whose accuracy varied least over seeds and thread
  // counts (batch 64 at lr 0.01 ranged 0.20-0.36 over seeds 1-3 with 1 and 2 threads, this
  // one 0.434-0.480).
  auto result =
      run_zoo("train_classifier", "--out " + run +
                                      " --model efficientnet_phi --set phi=-3 --image-size 32 --limit 1024"
                                      " --eval-limit 2000 --epochs 3 --batch-size 16 --lr 1e-3 --warmup-epochs 0.2"
                                      " --no-augment --set dropout=0 --set stochastic_depth_prob=0 --ema 0 --seed 1");
  ASSERT_EQ(result.exit_code, 0) << result.output;

  // It learns: chance is 10%, and on 2,000 test images its standard deviation is 0.7%, so
  // 25% is far outside chance and far below every run above.
  double best = 0;
  for (const json& record : zoo::read_metrics(run + "/metrics.jsonl"))
    if (record.contains("test_top1")) best = std::max(best, record["test_top1"].get<double>());
  EXPECT_GT(best, 0.25);
  for (const char* file : {"config.json", "loss.png", "checkpoints/best.safetensors", "checkpoints/last.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(run + "/" + file)) << file;
  EXPECT_TRUE(std::filesystem::exists(zoo::test::checkpoint_part(run, "zoo.train_state")));

  // classify, on an image file...
  const auto test = zoo::data::open_dataset("fashion-mnist", zoo::data::Split::test, 4);
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < 4; ++i) images.push_back(test->get(i).input);
  zoo::save_image(dir.file("item.png"), images[0]);
  result = run_zoo("classify", "--checkpoint " + run + " --image " + dir.file("item.png") + " --topk 3 --format json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const json report = json::parse(result.output.substr(result.output.find('[')));
  ASSERT_EQ(report[0]["top"].size(), 3u);
  EXPECT_FALSE(report[0]["top"][0]["name"].get<std::string>().empty());

  // ...and on a tensor of prepared inputs, writing logits.
  namespace F = torch::nn::functional;
  const torch::Tensor batch = F::interpolate(
      (torch::stack(images) - 0.286) / 0.353,
      F::InterpolateFuncOptions().size(std::vector<int64_t>{32, 32}).mode(torch::kBilinear).align_corners(false));
  zoo::weights::write_safetensors(dir.file("in.safetensors"), {{"input", batch}});
  result = run_zoo("classify", "--checkpoint " + run + " --input " + dir.file("in.safetensors") + " --output " +
                                   dir.file("logits.safetensors"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(zoo::weights::read_safetensors(dir.file("logits.safetensors")).at("logits").sizes(),
            (std::vector<int64_t>{4, 10}));

  // ...and on the test split: the same top-1 as training measured on it (batches of another
  // size round differently, which may flip a near tie: 2 of 2,000 allowed).
  const std::string logits_file = dir.file("split.safetensors");
  result = run_zoo("classify", "--checkpoint " + run + " --data fashion-mnist --limit 2000 --output " + logits_file +
                                   " --format json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const json split = json::parse(result.output.substr(result.output.find('{')));
  EXPECT_NEAR(split["top1"].get<double>(), best, 2.0 / 2000);
  EXPECT_EQ(zoo::weights::read_safetensors(logits_file).at("logits").sizes(), (std::vector<int64_t>{2000, 10}));
  // The same run again agrees with itself on every image.
  const std::string compare = " --data fashion-mnist --limit 2000 --format json --agreement " + logits_file;
  result = run_zoo("classify", "--checkpoint " + run + compare);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(json::parse(result.output.substr(result.output.find('{')))["agreement"].get<double>(), 1.0);
  // In bfloat16 the logits move by ~2⁻⁸ of their scale per layer, which flips only images
  // whose two best classes are that close (measured: 0.2% of them on a φ = −3 run); a broken
  // bfloat16 path would agree about as often as chance, 10%.
  result = run_zoo("classify", "--checkpoint " + run + compare + " --precision bf16");
  if (zoo::cpu_has_bf16()) {
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_GE(json::parse(result.output.substr(result.output.find('{')))["agreement"].get<double>(), 0.95);
  } else {
    expect_clean_error("classify", "--checkpoint " + run + compare + " --precision bf16", "no bfloat16 arithmetic");
  }
  expect_clean_error("classify", "--checkpoint " + run + " --data fashion-mnist --limit 3 --agreement " + logits_file,
                     "expected logits [3, 10], got [2000, 10]");
  expect_clean_error("classify", "--checkpoint " + run + " --agreement " + logits_file + " --image x.png",
                     "--agreement needs --data");
  expect_clean_error("classify", "--checkpoint " + run + " --data toy:moons", "expected images with 1 channels");

  // convert_weights: to .pth and TorchScript and back, bit for bit.
  const std::string best_file = run + "/checkpoints/best.safetensors";
  const auto original = zoo::weights::read_safetensors(best_file);
  for (const std::string out : {"w.pth", "w.pt"}) {
    result = run_zoo("convert_weights", "convert " + best_file + " " + dir.file(out));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    result = run_zoo("convert_weights", "convert " + dir.file(out) + " " + dir.file(out + ".safetensors"));
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto back = zoo::weights::read_safetensors(dir.file(out + ".safetensors"));
    ASSERT_EQ(original.tensors.size(), back.tensors.size()) << out;
    for (const auto& [name, tensor] : original.tensors)
      EXPECT_TRUE(torch::equal(tensor, back.at(name))) << out << " " << name;
  }
  // train_classifier --init starts from weights in any format.
  result = run_zoo("train_classifier",
                   "--out " + dir.file("run2") + " --init " + dir.file("w.pth") +
                       " --model efficientnet_phi --set phi=-3 --image-size 32 --limit 64"
                       " --eval-limit 64 --steps 1 --batch-size 32 --ema 0 --random-erasing 0.5 --channels-last");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("init: loaded " + std::to_string(original.tensors.size()) + " tensors"),
            std::string::npos)
      << result.output;

  result = run_zoo("convert_weights", "inspect " + dir.file("w.pth") + " --format json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const json inspected = json::parse(result.output.substr(result.output.find('{')));
  EXPECT_EQ(inspected["format"], "pth");
  EXPECT_EQ(inspected["tensors"], original.tensors.size());
}

TEST(ClassifierCliErrors, BadInputGetsOneErrorLine) {
  TempDir dir;
  expect_clean_error("train_classifier", "--out " + dir.file("r") + " --model efficientnet_b9", "efficientnet_b9");
  expect_clean_error("train_classifier", "--out " + dir.file("r") + " --data toy:moons", "labelled images");
  expect_clean_error("train_classifier", "--out " + dir.file("r") + " --optimizer lion --limit 64", "lion");
  expect_clean_error("train_classifier", "--out " + dir.file("r") + " --random-erasing 1.5 --limit 64",
                     "--random-erasing 1.5: must be at most 1");
  expect_clean_error("classify", "--checkpoint " + dir.file("none") + " --image x.png", "none");
  zoo::test::write_bytes(dir.file("junk.pth"), "PK\x03\x04 not really a zip");
  expect_clean_error("convert_weights", "inspect " + dir.file("junk.pth"), "junk.pth");
  expect_clean_error("convert_weights", "convert a.safetensors b.safetensors --from timm", "--model");
  expect_clean_error("convert_weights", "frobnicate", "usage");
}
