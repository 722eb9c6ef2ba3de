// train_diffusion, sample_diffusion and evaluate_samples end to end: an MLP on a 2-D toy,
// a tiny U-Net on a slice of Fashion-MNIST, reflow and distillation, and bad input.
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

namespace {

torch::Tensor samples_in(const std::string& path) { return zoo::weights::read_safetensors(path).at("samples"); }

}  // namespace

// Networks this small run fastest on one thread without loader threads; with more, two
// tests running side by side under ctest -j2 oversubscribe the two cores many times over.
TEST(DiffusionCli, ToyTrainSampleEvaluateResumeReflow) {
  TempDir dir;
  const std::string run = dir.file("rf");
  auto result = run_zoo("train_diffusion", "--out " + run +
                                               " --data toy:moons --objective rf --steps 600 --batch-size 256"
                                               " --lr 2e-3 --sample-every 4 --seed 1 --threads 1 --workers 0");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* file : {"config.json", "loss.png", "metrics.jsonl", "checkpoints/last.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(run + "/" + file)) << file;
  for (const char* part : {"zoo.train_state", "zoo.ema"})
    EXPECT_TRUE(std::filesystem::exists(zoo::test::checkpoint_part(run, part))) << part;
  double swd = -1;
  for (const json& record : zoo::read_metrics(run + "/metrics.jsonl"))
    if (record.contains("swd")) swd = record["swd"];
  EXPECT_GT(swd, 0);
  EXPECT_LT(swd, 0.5);  // moons span about 4 units; an untrained model is far off

  // Samples: independent of the batch size, and scored against fresh data.
  result = run_zoo("sample_diffusion", "--checkpoint " + run +
                                           " --n 2000 --batch-size 2000 --sampler euler --steps 32 --threads 1 --out " +
                                           dir.file("a.safetensors"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("NFE 32"), std::string::npos) << result.output;
  result =
      run_zoo("sample_diffusion", "--checkpoint " + run +
                                      " --n 5 --first 3 --batch-size 2 --sampler euler --steps 32 --threads 1 --out " +
                                      dir.file("b.safetensors"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(torch::allclose(samples_in(dir.file("a.safetensors")).slice(0, 3, 8),
                              samples_in(dir.file("b.safetensors")), 1e-5, 1e-5));
  const json score = run_zoo_json("evaluate_samples", "--data toy:moons --samples " + dir.file("a.safetensors"));
  EXPECT_GT(score["swd"].get<double>(), 0);
  EXPECT_LT(score["ratio"].get<double>(), 10);
  EXPECT_GT(score["swd_fresh_data"].get<double>(), 0);

  // Resume continues to the new step count.
  result = run_zoo("train_diffusion", "--out " + run + " --resume --steps 700");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(zoo::read_metrics(run + "/metrics.jsonl").back()["step"], 700);

  // Reflow: pairs from the first flow, a second flow trained on them, then 1-step distillation.
  const std::string reflow = dir.file("reflow");
  result = run_zoo(
      "train_diffusion",
      "--out " + reflow + " --objective rf --reflow-from " + run +
          " --pairs 512 --pair-sampler euler --pair-steps 16 --steps 40 --sample-every 100 --threads 1 --workers 0");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto pairs = zoo::weights::read_safetensors(reflow + "/pairs.safetensors");
  EXPECT_EQ(pairs.at("noise").sizes(), (std::vector<int64_t>{512, 2}));
  EXPECT_EQ(pairs.at("samples").sizes(), (std::vector<int64_t>{512, 2}));
  result =
      run_zoo("train_diffusion",
              "--out " + dir.file("distilled") + " --objective rf --reflow-from " + reflow +
                  " --distill-steps 1 --pairs 256 --pair-sampler euler --pair-steps 8 --steps 40 --sample-every 100"
                  " --threads 1 --workers 0");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  result = run_zoo("sample_diffusion", "--checkpoint " + dir.file("distilled") +
                                           " --n 16 --sampler euler --steps 1 --out " + dir.file("one_step.png"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("NFE 1 "), std::string::npos) << result.output;
}

TEST(DiffusionCli, ConditionalUNetOnImagesWithAClassifierScore) {
  TempDir dir;
  const std::string run = dir.file("unet");
  auto result = run_zoo("train_diffusion", "--out " + run +
                                               " --data fashion-mnist --limit 64 --steps 3 --batch-size 16"
                                               " --classes --set channels=8 --set blocks=1 --sample-n 4");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(run + "/samples/step_00000003.png"));
  result = run_zoo("sample_diffusion", "--checkpoint " + run + " --n 6 --class 3 --guidance 2 --steps 3 --out " +
                                           dir.file("s.safetensors"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto file = zoo::weights::read_safetensors(dir.file("s.safetensors"));
  EXPECT_EQ(file.at("samples").sizes(), (std::vector<int64_t>{6, 1, 28, 28}));
  EXPECT_GE(file.at("samples").min().item<double>(), 0);  // data space: [0, 1]
  EXPECT_LE(file.at("samples").max().item<double>(), 1);
  EXPECT_TRUE(torch::equal(file.at("labels"), torch::full({6}, 3, torch::kLong)));
  // CFG++ reads the unconditional half of the guided model: at guidance 1 (none) it is Euler,
  // with guidance it is not Euler with that guidance.
  const auto samples = [&](const std::string& flags) {
    const auto sampled = run_zoo("sample_diffusion", "--checkpoint " + run + " --n 4 --class 3 --steps 4 " + flags +
                                                         " --out " + dir.file("g.safetensors"));
    EXPECT_EQ(sampled.exit_code, 0) << sampled.output;
    return zoo::weights::read_safetensors(dir.file("g.safetensors")).at("samples");
  };
  EXPECT_TRUE(torch::equal(samples("--sampler euler_cfg_pp"), samples("--sampler euler")));
  EXPECT_FALSE(torch::allclose(samples("--sampler euler_cfg_pp --guidance 0.5"),
                               samples("--sampler euler --guidance 0.5"), 0, 1e-4));

  // FD-fashion-mnist needs a classifier trained on the same data.
  const std::string classifier = dir.file("classifier");
  result = run_zoo("train_classifier", "--out " + classifier +
                                           " --model efficientnet_phi --set phi=-3 --image-size 32"
                                           " --limit 128 --eval-limit 64 --steps 2 --batch-size 64");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const json score = run_zoo_json("evaluate_samples", "--data fashion-mnist --samples " + dir.file("s.safetensors") +
                                                          " --classifier " + classifier);
  EXPECT_GE(score["fd"].get<double>(), 0);
  EXPECT_GE(score["fd_fresh_data"].get<double>(), 0);
  EXPECT_GE(score["classifier_agreement"].get<double>(), 0);
  EXPECT_LE(score["classifier_agreement"].get<double>(), 1);
  expect_clean_error("evaluate_samples", "--data fashion-mnist --samples " + dir.file("s.safetensors"), "--classifier");
  expect_clean_error("evaluate_samples", "--data toy:moons --samples " + dir.file("s.safetensors"), "do not match");
  expect_clean_error("sample_diffusion", "--checkpoint " + classifier + " --out " + dir.file("x.png"),
                     "not a diffusion checkpoint");
}

TEST(DiffusionCliErrors, BadInputGetsOneErrorLine) {
  TempDir dir;
  const std::string run = dir.file("run");
  ASSERT_EQ(run_zoo("train_diffusion", "--out " + run + " --data toy:moons --steps 20").exit_code, 0);
  const std::string ckpt = " --checkpoint " + run + " --out " + dir.file("x.png");
  expect_clean_error("sample_diffusion", ckpt + " --sampler nope", "--sampler nope: expected euler");
  expect_clean_error("sample_diffusion", ckpt + " --schedule nope", "nope");
  expect_clean_error("sample_diffusion", ckpt + " --steps 0", "--steps");
  expect_clean_error("sample_diffusion", ckpt + " --guidance 3", "unconditional");
  expect_clean_error("sample_diffusion", ckpt + " --class 1", "unconditional");
  expect_clean_error("sample_diffusion", ckpt + " --sampler dpmpp_2m --churn 10",
                     "--churn: the dpmpp_2m sampler does not read it (read by edm)");
  expect_clean_error("sample_diffusion", ckpt + " --sampler heun --eta 0.5", "--eta: the heun sampler");
  expect_clean_error("sample_diffusion", ckpt + " --sampler euler --rtol 1e-3", "(read by dpm_adaptive or rk45)");
  expect_clean_error("sample_diffusion", ckpt + " --sampler deis --order 4", "--order 4: deis supports orders 1 to 3");
  expect_clean_error("sample_diffusion", ckpt + " --sampler euler --order 2", "--order: the euler sampler");
  expect_clean_error("sample_diffusion", ckpt + " --sampler unipc --variant bh3",
                     "--variant bh3: unipc takes bh1 or bh2");
  expect_clean_error("sample_diffusion", ckpt + " --sampler heun --variant bh1", "(read by unipc)");
  for (const std::string sampler : {"unipc --order 2 --variant bh1", "deis", "ipndm_v", "dpm_fast", "dpm_adaptive"})
    EXPECT_EQ(run_zoo("sample_diffusion", ckpt + " --n 8 --steps 6 --sampler " + sampler).exit_code, 0) << sampler;
  // compare_samplers draws the same seeds as sample_diffusion within the budget it is given.
  const std::string compare = " --checkpoint " + run + " --out " + dir.file("cmp.png");
  const auto compared = run_zoo("compare_samplers", compare + " --samplers euler,heun --nfe 4 --n 16 --samples-dir " +
                                                        dir.file("cmp") + " --format json");
  ASSERT_EQ(compared.exit_code, 0) << compared.output;
  EXPECT_TRUE(std::filesystem::exists(dir.file("cmp.png")));
  const json rows = json::parse(compared.output.substr(compared.output.find('{')))["samplers"];
  EXPECT_EQ(rows[1]["steps"], 2);  // heun: 2 steps take 3 evaluations
  EXPECT_EQ(rows[1]["nfe"], 3);
  ASSERT_EQ(run_zoo("sample_diffusion",
                    " --checkpoint " + run + " --sampler euler --steps 4 --n 16 --out " + dir.file("euler.safetensors"))
                .exit_code,
            0);
  EXPECT_TRUE(torch::equal(zoo::weights::read_safetensors(dir.file("cmp/euler.safetensors")).at("samples"),
                           zoo::weights::read_safetensors(dir.file("euler.safetensors")).at("samples")));
  expect_clean_error("compare_samplers", compare + " --samplers euler,rk45", "rk45 is adaptive");
  expect_clean_error("compare_samplers", compare + " --samplers nope", "nope");
  expect_clean_error("compare_samplers", " --checkpoint " + run + " --out " + dir.file("cmp.jpg"), "expected a .png");
  expect_clean_error("sample_diffusion", ckpt + " --sigmas 1,2,0", "--sigmas: level 1");
  expect_clean_error("sample_diffusion", ckpt + " --sigmas 3,x,0", "'x' is not a number");
  zoo::test::write_bytes(dir.file("levels.txt"), "14.6\n2.9, 0.5\n-1\n");
  expect_clean_error("sample_diffusion", ckpt + " --sigmas-file " + dir.file("levels.txt"), "positive");
  expect_clean_error("sample_diffusion", ckpt + " --sigmas-file " + dir.file("none.txt"), "none.txt");
  // A schedule by hand, and the new schedules, sample; --verbose prints the levels.
  zoo::test::write_bytes(dir.file("levels.txt"), "14.6\n2.9, 0.5\n0\n");
  const auto by_hand =
      run_zoo("sample_diffusion", ckpt + " --n 8 --sigmas-file " + dir.file("levels.txt") + " --verbose");
  ASSERT_EQ(by_hand.exit_code, 0) << by_hand.output;
  EXPECT_NE(by_hand.output.find("sigmas (4 levels): 14.6, 2.9, 0.5, 0"), std::string::npos) << by_hand.output;
  for (const std::string schedule : {"kl_optimal", "sgm_uniform", "simple", "beta"})
    EXPECT_EQ(run_zoo("sample_diffusion", ckpt + " --n 8 --steps 4 --schedule " + schedule).exit_code, 0) << schedule;
  expect_clean_error("sample_diffusion", " --checkpoint " + run + " --out " + dir.file("x.jpg"),
                     ".png or .safetensors");
  expect_clean_error("train_diffusion", "--out " + dir.file("b") + " --objective ddpm", "ddpm");
  expect_clean_error("train_diffusion", "--out " + dir.file("c") + " --net unet", "square images");
  expect_clean_error("train_diffusion", "--out " + dir.file("d") + " --set hiden=3", "hiden");
  expect_clean_error("train_diffusion", "--out " + dir.file("e") + " --classes", "no class labels");
  expect_clean_error("train_diffusion", "--out " + dir.file("f") + " --distill-steps 2", "--reflow-from");
  expect_clean_error("train_diffusion", "--out " + dir.file("g") + " --reflow-from " + run, "--objective rf");
  // A diverging run stops with a clear error and keeps its last good checkpoint.
  const std::string last = run + "/checkpoints/last.safetensors";
  const std::string before = zoo::test::read_bytes(last);
  const auto diverged = run_zoo("train_diffusion", "--out " + run + " --resume --steps 60 --lr 1e30 --grad-clip 0");
  EXPECT_NE(diverged.exit_code, 0);
  EXPECT_NE(diverged.output.find("error: the loss became"), std::string::npos) << diverged.output;
  EXPECT_EQ(zoo::test::read_bytes(last), before);
  // The run directory of an existing run is never overwritten.
  expect_clean_error("train_diffusion", "--out " + run + " --data toy:moons --steps 20", run);
}
