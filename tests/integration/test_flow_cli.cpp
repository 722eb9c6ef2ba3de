// train_flow and sample_flow end to end: a Glow on a 2-D toy (train, resume, sample,
// reconstruct, score), a tiny RealNVP on a slice of Fashion-MNIST in bits/dim, and bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/metrics_log.h"
#include "support/test_support.h"
#include "weights/safetensors.h"

using nlohmann::json;
using zoo::test::expect_clean_error;
using zoo::test::run_zoo;
using zoo::test::run_zoo_json;
using zoo::test::TempDir;

TEST(FlowCli, ToyTrainResumeSampleReconstructScore) {
  TempDir dir;
  const std::string run = dir.file("glow");
  auto result =
      run_zoo("train_flow", "--out " + run +
                                " --data toy:moons,train=5000,test=1000 --model glow --set steps=4"
                                " --set hidden=32 --steps 300 --batch-size 256 --lr 3e-3 --seed 1 --workers 0");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(zoo::test::checkpoint_part(run, "zoo.train_state")));
  for (const char* file : {"config.json", "metrics.jsonl", "checkpoints/last.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(run + "/" + file)) << file;
  double first_nll = 0, last_nll = 0;
  for (const json& record : zoo::read_metrics(run + "/metrics.jsonl"))
    if (record.contains("test_nll")) (first_nll == 0 ? first_nll : last_nll) = record["test_nll"].get<double>();
  EXPECT_GT(first_nll, 0);
  EXPECT_LT(last_nll, 3.0);  // a standard normal scores moons at about 3.7 nats

  result = run_zoo("train_flow", "--out " + run + " --resume --steps 350");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(zoo::read_metrics(run + "/metrics.jsonl").back()["step"], 350);

  const json sampled =
      run_zoo_json("sample_flow", "--checkpoint " + run + " --n 3000 --out " + dir.file("s.safetensors"));
  EXPECT_EQ(sampled["samples"], 3000);
  const torch::Tensor samples = zoo::weights::read_safetensors(dir.file("s.safetensors")).at("samples");
  EXPECT_EQ(samples.sizes(), (torch::IntArrayRef{3000, 2}));
  const json cold = run_zoo_json(
      "sample_flow", "--checkpoint " + run + " --n 3000 --temperature 0.5 --out " + dir.file("c.safetensors"));
  EXPECT_LT(zoo::weights::read_safetensors(dir.file("c.safetensors")).at("samples").std().item<double>(),
            samples.std().item<double>());
  const json score = run_zoo_json("evaluate_samples", "--data toy:moons --samples " + dir.file("s.safetensors"));
  EXPECT_LT(score["ratio"].get<double>(), 6);

  const json rec = run_zoo_json("sample_flow", "--checkpoint " + run + " --reconstruct --limit 500");
  EXPECT_EQ(rec["examples"], 500);
  EXPECT_LT(rec["max_abs_error"].get<double>(), 1e-4);
  const json scored = run_zoo_json("sample_flow", "--checkpoint " + run + " --log-prob " + dir.file("s.safetensors"));
  EXPECT_LT(scored["mean_log_prob_nats"].get<double>(), 0);
  EXPECT_GT(scored["mean_log_prob_nats"].get<double>(), -3.0);
}

TEST(FlowCli, ImagesAreScoredInBitsPerDim) {
  TempDir dir;
  const std::string run = dir.file("realnvp");
  auto result = run_zoo("train_flow", "--out " + run +
                                          " --data fashion-mnist --limit 256 --eval-limit 128 --model realnvp"
                                          " --set scales=1 --set hidden=8 --set blocks=1 --epochs 2 --batch-size 64"
                                          " --lr 1e-3 --workers 0");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::vector<double> bpd;
  for (const json& record : zoo::read_metrics(run + "/metrics.jsonl"))
    if (record.contains("test_nll")) {
      EXPECT_EQ(record["unit"], "bits/dim");
      bpd.push_back(record["test_nll"]);
    }
  ASSERT_EQ(bpd.size(), 2u);
  EXPECT_LT(bpd.back(), bpd.front());
  EXPECT_GT(bpd.back(), 0.5);
  EXPECT_LT(bpd.back(), 8.0);
  const json sampled =
      run_zoo_json("sample_flow", "--checkpoint " + run + " --n 16 --temperature 0.7 --out " + dir.file("g.png"));
  EXPECT_TRUE(std::filesystem::exists(sampled["out"].get<std::string>()));
  const json rec = run_zoo_json("sample_flow", "--checkpoint " + run + " --reconstruct --limit 64");
  EXPECT_LT(rec["max_abs_error"].get<double>(), 1e-3);
}

TEST(FlowCli, BadInputGivesOneLineErrors) {
  TempDir dir;
  expect_clean_error("train_flow", "--out " + dir.file("a") + " --model maf", "maf");
  expect_clean_error("train_flow", "--out " + dir.file("b") + " --set levels=x", "levels");
  expect_clean_error("train_flow", "--out " + dir.file("c") + " --data toy:moons --model glow --set depth=3", "depth");
  expect_clean_error("sample_flow", "--checkpoint " + dir.file("none") + " --out " + dir.file("n.png"), "none");
  const std::string run = dir.file("ok");
  ASSERT_EQ(
      run_zoo("train_flow", "--out " + run + " --data toy:moons --set steps=1 --set hidden=8 --steps 5 --workers 0")
          .exit_code,
      0);
  expect_clean_error("sample_flow", "--checkpoint " + run + " --n 4 --temperature 0 --out " + dir.file("x.png"),
                     "temperature");
  expect_clean_error("sample_flow", "--checkpoint " + run + " --n 4", "--out");
  zoo::weights::write_safetensors(dir.file("wrong.safetensors"), {{"samples", torch::zeros({4, 3})}});
  expect_clean_error("sample_flow", "--checkpoint " + run + " --log-prob " + dir.file("wrong.safetensors"),
                     "expected data [N, 2]");
  // A checkpoint of another kind of model, both ways.
  expect_clean_error("sample_flow",
                     "--checkpoint " + dir.file("wrong.safetensors") + " --n 4 --out " + dir.file("y.png"),
                     "not a flow checkpoint");
  expect_clean_error("sample_diffusion", "--checkpoint " + run + " --out " + dir.file("z.png"),
                     "not a diffusion checkpoint");
  // A diverging run stops with a clear error and keeps its last good checkpoint.
  const std::string last = run + "/checkpoints/last.safetensors";
  const std::string before = zoo::test::read_bytes(last);
  const auto diverged = run_zoo("train_flow", "--out " + run + " --resume --steps 40 --lr 1e30 --grad-clip 0");
  EXPECT_NE(diverged.exit_code, 0);
  EXPECT_NE(diverged.output.find("error: the loss became"), std::string::npos) << diverged.output;
  EXPECT_EQ(zoo::test::read_bytes(last), before);
}
