#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/metrics_log.h"
#include "core/seed.h"
#include "data/spec.h"
#include "support/test_support.h"
#include "train/trainer.h"
#include "weights/checkpoint.h"
#include "weights/state_dict.h"
#include "zoo/build_config.h"

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

// Trains to `steps` (resuming the run in `out`); a `fail_at` step throws from the loss as a
// kill would stop the run: after its last checkpoint, without a final one.
std::vector<Json> train_run(const std::string& out, int64_t steps, bool resume, int64_t fail_at = -1) {
  seed_everything(11);
  auto model = std::make_shared<Net>();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
  data::LoaderOptions loader_options;
  loader_options.batch_size = 32;
  loader_options.seed = 11;
  data::DataLoader loader(data::open_dataset("toy:moons,train=200,test=50", data::Split::train), loader_options,
                          std::make_shared<data::Dequantize>());
  const Json config = {{"model", "net"}};
  RunDir run = resume ? RunDir::open(out, config) : RunDir::create(out, config);
  train::TrainerOptions options;
  options.steps = steps;
  options.log_every = 4;  // not a divisor of checkpoint_every: checkpoints fall inside logging intervals
  options.checkpoint_every = 5;
  train::Trainer trainer(run, model, config, optimizer, loader, options);
  if (resume) trainer.resume();
  trainer.set_lr_schedule([](int64_t step) { return train::cosine_with_warmup(1e-2, step, 3, 20); });
  trainer.run([&](const data::Batch& batch, int64_t step) {
    if (step == fail_at) throw std::runtime_error("killed");
    const torch::Tensor noisy = batch.inputs + 0.1 * torch::randn_like(batch.inputs);
    return torch::mse_loss(model->forward(noisy), batch.inputs);
  });
  return read_metrics(run.metrics_path());
}

// The records without their wall-clock times.
std::vector<Json> timeless(std::vector<Json> records) {
  for (Json& r : records) r.erase("seconds");
  return records;
}

}  // namespace

TEST(Trainer, ResumedRunRepeatsTheUninterruptedOneStepForStep) {
  torch::set_num_threads(1);
  test::TempDir dir;
  const auto straight = timeless(train_run(dir.file("straight"), 20, false));
  ASSERT_EQ(straight.size(), 5u);  // steps 4, 8, ..., 20
  EXPECT_LT(straight.back()["loss"].get<double>(), straight.front()["loss"].get<double>());
  // Killed at step 17: the last checkpoint (step 15, in the second epoch of 7 batches) is
  // inside the logging interval 13–16, whose record the resumed run must write the same.
  EXPECT_THROW(train_run(dir.file("killed"), 20, false, 17), std::runtime_error);
  EXPECT_EQ(timeless(train_run(dir.file("killed"), 20, true)), straight);
  // A finished run of 13 steps extended to 20: the weights agree bit for bit.
  train_run(dir.file("extended"), 13, false);
  train_run(dir.file("extended"), 20, true);
  for (const std::string run : {"killed", "extended"}) {
    const auto a = weights::read_checkpoint(dir.file("straight")), b = weights::read_checkpoint(dir.file(run));
    EXPECT_EQ(b.step, 20);
    EXPECT_EQ(b.model_config["model"], "net");
    ASSERT_EQ(a.weights.tensors.size(), b.weights.tensors.size());
    for (size_t i = 0; i < a.weights.tensors.size(); ++i)
      EXPECT_TRUE(torch::equal(a.weights.tensors[i].second, b.weights.tensors[i].second))
          << run << " " << a.weights.tensors[i].first;
  }
  // save_image writes PPM where the build has no OpenCV.
  EXPECT_TRUE(std::filesystem::exists(dir.file(ZOO_HAVE_OPENCV ? "straight/loss.png" : "straight/loss.ppm")));
}

TEST(Trainer, ResumeRefusesMismatchedState) {
  torch::set_num_threads(1);
  test::TempDir dir;
  train_run(dir.file("run"), 5, false);
  // Weights from step 3 that name the training state of step 5 (only a hand-made file can).
  const std::string stem = dir.file("run/checkpoints/last");
  auto metadata = weights::read_safetensors(stem + ".safetensors").metadata;
  metadata["zoo.step"] = "3";
  auto model = std::make_shared<Net>();
  weights::write_safetensors(stem + ".safetensors", weights::state_dict(*model), metadata);
  EXPECT_TRUE(test::throws_error_with([&] { train_run(dir.file("run"), 10, true); }, {"from step 3", "from step 5"}));
}

TEST(Trainer, CosineScheduleWarmsUpAndDecays) {
  EXPECT_DOUBLE_EQ(train::cosine_with_warmup(1.0, 0, 4, 104), 0.25);
  EXPECT_DOUBLE_EQ(train::cosine_with_warmup(1.0, 3, 4, 104), 1.0);
  EXPECT_DOUBLE_EQ(train::cosine_with_warmup(1.0, 4, 4, 104), 1.0);
  EXPECT_NEAR(train::cosine_with_warmup(1.0, 54, 4, 104), 0.5, 1e-12);
  EXPECT_NEAR(train::cosine_with_warmup(1.0, 104, 4, 104), 0.0, 1e-12);
}
