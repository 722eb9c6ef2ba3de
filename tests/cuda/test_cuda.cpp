// Built only with -DZOO_CUDA_TESTS=ON (scripts/gpu_check.sh, on a machine with a GPU).
#include <gtest/gtest.h>

#include "core/autocast.h"
#include "core/device.h"
#include "core/seed.h"
#include "support/test_support.h"
#include "weights/checkpoint.h"
#include "weights/state_dict.h"

TEST(Cuda, DeviceParsingFindsTheGpu) {
  ASSERT_TRUE(torch::cuda::is_available());
  EXPECT_TRUE(zoo::parse_device("auto").is_cuda());
  EXPECT_EQ(zoo::parse_device("cuda:0"), torch::Device(torch::kCUDA, 0));
}

TEST(Cuda, PerSampleNoiseIsTheSameOnEveryDevice) {
  const torch::Tensor cpu = zoo::per_sample_randn({4, 3}, 9, zoo::Stream::noise, 0);
  const torch::Tensor gpu = zoo::per_sample_randn({4, 3}, 9, zoo::Stream::noise, 0, torch::kCUDA);
  EXPECT_TRUE(gpu.is_cuda());
  EXPECT_TRUE(torch::equal(cpu, gpu.cpu()));
}

TEST(Cuda, CheckpointOfAGpuModelLoadsOnTheCpu) {
  zoo::test::TempDir dir;
  torch::nn::Linear gpu_model(3, 2);
  gpu_model->to(torch::kCUDA);
  zoo::weights::save_checkpoint(dir.file("m"), *gpu_model, {{"model", "linear"}}, {7});
  torch::nn::Linear cpu_model(3, 2);
  const auto checkpoint = zoo::weights::read_checkpoint(dir.file("m.safetensors"));
  zoo::weights::load_state_dict(*cpu_model, checkpoint.weights.tensors);
  const torch::Tensor x = torch::randn({5, 3});
  EXPECT_TRUE(torch::allclose(cpu_model->forward(x), gpu_model->forward(x.cuda()).cpu(), 1e-5, 1e-6));
  EXPECT_EQ(checkpoint.step, 7);
}

TEST(Cuda, AutocastRunsMatmulsInBfloat16AndRestoresTheState) {
  const torch::Tensor a = torch::randn({8, 8}, torch::kCUDA);
  {
    zoo::AutocastGuard guard(zoo::autocast_for("auto", torch::kCUDA));
    EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(torch::mm(a, a).scalar_type(), torch::kFloat);
}
