#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/metrics_log.h"
#include "core/seed.h"
#include "data/spec.h"
#include "train/trainer.h"
#include "zoo/build_config.h"
#include "support/test_support.h"
#include "weights/checkpoint.h"
#include "weights/state_dict.h"

using namespace zoo;

namespace {

// A small denoising MLP on toy data with dropout, so that the loss depends on the data
// order, the global RNG (dropout, noise) and the optimizer state all at once.
struct Net : torch::nn::Module {
  Net() {
    body = register_module("body", torch::nn::Sequential(torch::nn::Linear(2, 32), torch::nn::SiLU(),
                                                         torch::nn::Dropout(0.1), torch::nn::Linear(32, 2)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return body->forward(x); }
  torch::nn::Sequential body{nullptr};
};

std::vector<double> train_run(const std::string& out, int64_t steps, bool resume) {
  seed_everything(11);
  auto model = std::make_shared<Net>();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
  data::LoaderOptions loader_options;
  loader_options.batch_size = 32;
  loader_options.seed = 11;
  data::DataLoader loader(data::open_dataset("toy:moons,train=200,test=50", data::Split::train), loader_options,
                          std::make_shared<data::Dequantize>());
  const Json config = {{"model", "net"}};
  RunDir run = resume ? RunDir::open(out) : RunDir::create(out, config);
  train::TrainerOptions options;
  options.steps = steps;
  options.log_every = 1;
  options.checkpoint_every = 5;
  train::Trainer trainer(run, model, config, optimizer, loader, options);
  if (resume) trainer.resume();
  trainer.set_lr_schedule([](int64_t step) { return train::cosine_with_warmup(1e-2, step, 3, 20); });
  trainer.run([&](const data::Batch& batch, int64_t) {
    const torch::Tensor noisy = batch.inputs + 0.1 * torch::randn_like(batch.inputs);
    return torch::mse_loss(model->forward(noisy), batch.inputs);
  });
  std::vector<double> losses;
  for (const Json& r : read_metrics(run.metrics_path())) losses.push_back(r["loss"].get<double>());
  return losses;
}

}  // namespace

TEST(Trainer, ResumedRunRepeatsTheUninterruptedOneStepForStep) {
  torch::set_num_threads(1);
  test::TempDir dir;
  const auto straight = train_run(dir.file("straight"), 20, false);
  ASSERT_EQ(straight.size(), 20u);
  // 13 steps, then a resume to 20: the checkpoint at step 13 is the final one of the
  // first part (spanning an epoch boundary: 7 batches an epoch).
  const auto first = train_run(dir.file("resumed"), 13, false);
  const auto resumed = train_run(dir.file("resumed"), 20, true);
  ASSERT_EQ(resumed.size(), 20u);
  for (size_t i = 0; i < 20; ++i) EXPECT_EQ(resumed[i], straight[i]) << "step " << i + 1;
  EXPECT_LT(straight.back(), straight.front());
  // The weights agree bit for bit too.
  const auto a = weights::read_checkpoint(dir.file("straight")), b = weights::read_checkpoint(dir.file("resumed"));
  EXPECT_EQ(a.step, 20);
  EXPECT_EQ(a.model_config["model"], "net");
  ASSERT_EQ(a.weights.tensors.size(), b.weights.tensors.size());
  for (size_t i = 0; i < a.weights.tensors.size(); ++i)
    EXPECT_TRUE(torch::equal(a.weights.tensors[i].second, b.weights.tensors[i].second)) << a.weights.tensors[i].first;
  // save_image writes PPM where the build has no OpenCV.
  EXPECT_TRUE(std::filesystem::exists(dir.file(ZOO_HAVE_OPENCV ? "straight/loss.png" : "straight/loss.ppm")));
}

TEST(Trainer, ResumeRefusesMismatchedState) {
  torch::set_num_threads(1);
  test::TempDir dir;
  train_run(dir.file("run"), 5, false);
  // A weights file from another step than the training state.
  auto model = std::make_shared<Net>();
  weights::save_checkpoint(dir.file("run/checkpoints/last"), *model, {{"model", "net"}}, {3}, nullptr);
  EXPECT_THROW(train_run(dir.file("run"), 10, true), Error);
}

TEST(Trainer, CosineScheduleWarmsUpAndDecays) {
  EXPECT_DOUBLE_EQ(train::cosine_with_warmup(1.0, 0, 4, 104), 0.25);
  EXPECT_DOUBLE_EQ(train::cosine_with_warmup(1.0, 3, 4, 104), 1.0);
  EXPECT_DOUBLE_EQ(train::cosine_with_warmup(1.0, 4, 4, 104), 1.0);
  EXPECT_NEAR(train::cosine_with_warmup(1.0, 54, 4, 104), 0.5, 1e-12);
  EXPECT_NEAR(train::cosine_with_warmup(1.0, 104, 4, 104), 0.0, 1e-12);
}
