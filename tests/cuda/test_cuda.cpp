// Built only with -DZOO_CUDA_TESTS=ON (scripts/gpu_check.sh, on a machine with a GPU).
#include <gtest/gtest.h>

#include "core/autocast.h"
#include "core/device.h"
#include "core/error.h"
#include "core/seed.h"
#include "models/diffusion/generate.h"
#include "models/efficientnet/config.h"
#include "models/efficientnet/efficientnet.h"
#include "models/flows/flow_model.h"
#include "support/test_support.h"
#include "train/adam.h"
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

TEST(Cuda, FusedEfficientNetGivesTheCpuOutputs) {
  torch::manual_seed(1);
  zoo::models::EfficientNet cpu(zoo::models::efficientnet_b0());
  cpu->eval();
  zoo::models::EfficientNet gpu(zoo::models::efficientnet_b0());
  zoo::weights::load_state_dict(*gpu, zoo::weights::state_dict(*cpu));
  gpu->to(torch::kCUDA);
  zoo::models::fuse_for_inference(gpu, /*channels_last=*/true);
  const torch::Tensor x = torch::randn({2, 3, 224, 224});
  torch::NoGradGuard no_grad;
  // cuDNN convolutions run in TF32 by default (10-bit mantissa: the logits of this random
  // net then differ by ~1e-2 relative); the folding is checked in full float32.
  const bool tf32 = at::globalContext().allowTF32CuDNN();
  at::globalContext().setAllowTF32CuDNN(false);
  const torch::Tensor expected = cpu->forward(x), got = gpu->forward(x.cuda()).cpu();
  at::globalContext().setAllowTF32CuDNN(tf32);
  const double scale = expected.abs().max().item<double>();
  EXPECT_TRUE(torch::allclose(got, expected, 1e-4, 1e-4 * scale))
      << "largest difference " << (got - expected).abs().max().item<double>() << " at scale " << scale;
}

TEST(Cuda, GenerationOnTheGpuMatchesTheCpu) {
  torch::manual_seed(2);
  zoo::diffusion::DiffusionModelConfig config;
  config.net = "unet";
  config.net_config = {{"in_channels", 1},
                       {"resolution", 8},
                       {"channels", 8},
                       {"blocks", 1},
                       {"attention_resolutions", {4}},
                       {"attention_head_channels", 8}};
  config.shape = {1, 8, 8};
  config.symmetric_images = true;
  zoo::diffusion::DiffusionModel model(config);
  for (auto& p : model.net()->parameters()) p.data().normal_(0, 0.05);
  model.net()->eval();
  zoo::diffusion::GenerateOptions options;
  options.sampler = "dpmpp_2m";
  options.schedule.steps = 8;
  options.sampler_options.seed = 3;
  const torch::Tensor cpu = zoo::diffusion::generate(model, 4, {}, options).samples;
  model.net()->to(torch::kCUDA);
  options.device = torch::kCUDA;
  const zoo::diffusion::Generated gpu = zoo::diffusion::generate(model, 4, {}, options);
  EXPECT_FALSE(gpu.samples.is_cuda());
  EXPECT_TRUE(torch::allclose(gpu.samples, cpu, 1e-3, 1e-3));
}

TEST(Cuda, MultiTensorAdamWFollowsLibTorchsOnTheCpu) {
  torch::manual_seed(4);
  const std::vector<torch::Tensor> start{torch::randn({16, 8}), torch::randn({16}), torch::randn({3, 16})};
  std::vector<torch::Tensor> cpu, gpu;
  for (const torch::Tensor& t : start) {
    cpu.push_back(t.clone().requires_grad_());
    gpu.push_back(t.cuda().requires_grad_());
  }
  const auto options = torch::optim::AdamWOptions(0.01).weight_decay(0.1);
  torch::optim::AdamW reference(cpu, options);
  zoo::train::AdamW ours(gpu, options);  // all on CUDA: the multi-tensor update
  for (int64_t step = 0; step < 5; ++step) {
    const torch::Tensor x = torch::randn({32, 8});
    const auto loss = [&](const std::vector<torch::Tensor>& p, const torch::Tensor& in) {
      return torch::linear(torch::tanh(torch::linear(in, p[0], p[1])), p[2]).pow(2).mean();
    };
    reference.zero_grad();
    ours.zero_grad();
    loss(cpu, x).backward();
    loss(gpu, x.cuda()).backward();
    reference.step();
    ours.step();
    EXPECT_EQ(ours.last_kernel(), zoo::train::AdamKernel::foreach);
  }
  for (size_t i = 0; i < cpu.size(); ++i) EXPECT_TRUE(torch::allclose(gpu[i].cpu(), cpu[i], 1e-5, 1e-6)) << i;
  // The fused update is a CPU loop: asked for on the GPU, it says so instead of reading device memory.
  zoo::train::AdamW fused(gpu, options, zoo::train::AdamKernel::fused);
  EXPECT_THROW(fused.step(), zoo::Error);
}

TEST(Cuda, FlowsScoreAndInvertOnTheGpuAsOnTheCpu) {
  // NICE (odd/even index partition), RealNVP (checkerboard masks and channel halves), Glow.
  for (const std::string name : {"nice", "realnvp", "glow"}) {
    SCOPED_TRACE(name);
    torch::manual_seed(5);
    zoo::flows::FlowModelConfig config;
    config.model = name;
    config.shape = name == "nice" ? std::vector<int64_t>{16} : std::vector<int64_t>{1, 8, 8};
    zoo::flows::FlowModel model(config);
    model->eval();
    const torch::Tensor x = name == "nice" ? torch::randn({4, 16}) : torch::rand({4, 1, 8, 8});
    const torch::Tensor cpu = model->log_prob(x);
    model->to(torch::kCUDA);
    const torch::Tensor gpu = model->log_prob(x.cuda());
    EXPECT_TRUE(torch::allclose(gpu.cpu(), cpu, 1e-3, 1e-3));
    EXPECT_LT((model->decode(model->encode(x.cuda())).cpu() - x).abs().max().item<double>(), 1e-4);
  }
}
