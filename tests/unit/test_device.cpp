#include <gtest/gtest.h>

#include "core/autocast.h"
#include "core/device.h"
#include "core/error.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

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
  EXPECT_THROW(zoo::configure_threads(-1), zoo::Error);
}

// 0 means PyTorch's default: OMP_NUM_THREADS where it is a positive count (capped at the
// cores), else every core.
TEST(Device, TheDefaultFollowsOmpNumThreads) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const char* saved = std::getenv("OMP_NUM_THREADS");
  const std::string before = saved ? saved : "";
  const auto threads_with = [](const char* value) {
    if (value)
      ::setenv("OMP_NUM_THREADS", value, 1);
    else
      ::unsetenv("OMP_NUM_THREADS");
    const int threads = zoo::configure_threads(0);
    EXPECT_EQ(torch::get_num_threads(), threads);
    return threads;
  };
  EXPECT_EQ(threads_with(nullptr), cores);
  EXPECT_EQ(threads_with("1"), 1);
  EXPECT_EQ(threads_with("100000"), cores);
  for (const char* ignored : {"", "0", "-2", "two", "99999999999"}) EXPECT_EQ(threads_with(ignored), cores) << ignored;
  if (saved)
    ::setenv("OMP_NUM_THREADS", before.c_str(), 1);
  else
    ::unsetenv("OMP_NUM_THREADS");
  zoo::configure_threads(0);
}

TEST(Device, PrecisionIsBf16AutocastOnCudaOnly) {
  EXPECT_FALSE(zoo::autocast_for("auto", torch::kCPU));
  EXPECT_TRUE(zoo::autocast_for("auto", torch::Device(torch::kCUDA, 0)));
  EXPECT_FALSE(zoo::autocast_for("fp32", torch::Device(torch::kCUDA, 0)));
  EXPECT_TRUE(zoo::autocast_for("bf16", torch::Device(torch::kCUDA, 0)));
  EXPECT_THROW(zoo::autocast_for("bf16", torch::kCPU), zoo::Error);
  EXPECT_THROW(zoo::autocast_for("fp16", torch::kCPU), zoo::Error);
}
