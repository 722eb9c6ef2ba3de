#include <gtest/gtest.h>

#include "core/autocast.h"
#include "core/device.h"
#include "core/error.h"

TEST(Device, ParsesCpuAndAuto) {
  EXPECT_EQ(zoo::parse_device("cpu"), torch::Device(torch::kCPU));
  const torch::Device automatic = zoo::parse_device("auto");
  EXPECT_EQ(automatic.is_cuda(), torch::cuda::is_available());
}

TEST(Device, RejectsMalformedSpecs) {
  for (const char* spec : {"gpu", "cuda:", "cuda:x", "CPU", "", "cuda:-1"}) {
    try {
      zoo::parse_device(spec);
      FAIL() << "accepted " << spec;
    } catch (const zoo::Error& e) {
      EXPECT_EQ(e.exit_code(), 2);
      EXPECT_NE(std::string(e.what()).find("--device"), std::string::npos);
    }
  }
}

TEST(Device, CudaWithoutCudaIsAClearError) {
  if (torch::cuda::is_available()) {
    EXPECT_TRUE(zoo::parse_device("cuda").is_cuda());
    EXPECT_THROW(zoo::parse_device("cuda:99"), zoo::Error);
    return;
  }
  try {
    zoo::parse_device("cuda:0");
    FAIL();
  } catch (const zoo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA is not available"), std::string::npos) << e.what();
  }
}

TEST(Device, ThreadsAreSetExplicitly) {
  EXPECT_EQ(zoo::configure_threads(1), 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  const int all = zoo::configure_threads(0);
  EXPECT_EQ(all, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  EXPECT_EQ(torch::get_num_threads(), all);
  EXPECT_THROW(zoo::configure_threads(-1), zoo::Error);
}

TEST(Device, PrecisionIsBf16AutocastOnCudaOnly) {
  EXPECT_FALSE(zoo::autocast_for("auto", torch::kCPU));
  EXPECT_TRUE(zoo::autocast_for("auto", torch::Device(torch::kCUDA, 0)));
  EXPECT_FALSE(zoo::autocast_for("fp32", torch::Device(torch::kCUDA, 0)));
  EXPECT_TRUE(zoo::autocast_for("bf16", torch::Device(torch::kCUDA, 0)));
  EXPECT_THROW(zoo::autocast_for("bf16", torch::kCPU), zoo::Error);
  EXPECT_THROW(zoo::autocast_for("fp16", torch::kCPU), zoo::Error);
}
