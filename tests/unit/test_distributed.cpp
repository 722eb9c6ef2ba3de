// Data-parallel pieces on loopback: the sharded loader covers an epoch exactly once, the
// environment is read as torchrun writes it, and two ranks of a real Gloo process group
// (two threads here) average gradients during backward to exactly the full-batch gradient.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <thread>

#include "core/distributed.h"
#include "core/error.h"
#include "core/shard.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "models/nn/sync_batch_norm.h"
#include "models/registry.h"
#include "support/test_support.h"
#include "train/gradient_sync.h"

using namespace zoo;

namespace {

data::DatasetPtr numbers(int64_t n) {
  data::DatasetInfo info;
  info.name = "numbers";
  return std::make_shared<data::TensorDataset>(info, torch::arange(n, torch::kFloat).unsqueeze(1));
}

// Every example index each rank reads in one epoch, per global batch.
std::vector<std::vector<int64_t>> shard(const data::DatasetPtr& dataset, int64_t world, bool drop_last, int64_t epoch) {
  std::vector<std::vector<int64_t>> batches;
  for (int64_t rank = 0; rank < world; ++rank) {
    data::LoaderOptions o;
    o.batch_size = 10, o.workers = 0, o.seed = 3, o.drop_last = drop_last, o.rank = rank, o.world_size = world;
    const data::DataLoader loader(dataset, o);
    auto reader = loader.epoch(epoch);
    int64_t b = 0;
    while (auto batch = reader->next()) {
      if (static_cast<int64_t>(batches.size()) <= b) batches.emplace_back();
      for (int64_t i = 0; i < batch->indices.numel(); ++i)
        batches[static_cast<size_t>(b)].push_back(batch->indices[i].item<int64_t>());
      ++b;
    }
  }
  return batches;
}

// Runs `body(rank)` for two ranks of one Gloo group, each on its own thread.
void two_ranks(const std::function<void(Distributed&)>& body) {
  const int port = 29700 + static_cast<int>(::getpid() % 200);
  std::vector<std::thread> threads;
  std::vector<std::string> failures(2);
  for (int rank = 0; rank < 2; ++rank)
    threads.emplace_back([&, rank] {
      try {
        DistributedOptions o;
        o.rank = rank, o.world_size = 2, o.master_port = port, o.timeout_seconds = 60;
        const auto group = Distributed::create(o, torch::kCPU);
        body(*group);
      } catch (const std::exception& e) {
        failures[static_cast<size_t>(rank)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures[0], "");
  EXPECT_EQ(failures[1], "");
}

}  // namespace

TEST(Distributed, ShardsCoverEachEpochExactlyOnceInTheSingleProcessOrder) {
  const auto dataset = numbers(103);
  for (const bool drop_last : {true, false}) {
    const auto one = shard(dataset, 1, drop_last, 2);
    // Three ranks of batch 10 read global batches of 30: the single process's batches of 30.
    data::LoaderOptions o;
    o.batch_size = 30, o.workers = 0, o.seed = 3, o.drop_last = drop_last;
    const std::vector<int64_t> order = data::DataLoader(dataset, o).order(2);
    const auto three = shard(dataset, 3, drop_last, 2);
    ASSERT_EQ(three.size(), drop_last ? 3u : 4u);
    std::multiset<int64_t> seen;
    for (size_t b = 0; b < three.size(); ++b) {
      std::multiset<int64_t> expected(order.begin() + static_cast<long>(b * 30),
                                      order.begin() + static_cast<long>(std::min<size_t>((b + 1) * 30, order.size())));
      EXPECT_EQ(std::multiset<int64_t>(three[b].begin(), three[b].end()), expected) << "batch " << b;
      seen.insert(three[b].begin(), three[b].end());
    }
    EXPECT_EQ(seen.size(), drop_last ? 90u : 103u);
    EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), seen.size());  // no example twice
  }
  data::LoaderOptions tiny;
  tiny.batch_size = 60, tiny.world_size = 2, tiny.rank = 1;
  EXPECT_TRUE(test::throws_error_with([&] { data::DataLoader(dataset, tiny); }, {"global batch"}));
}

TEST(Distributed, ContiguousSharesTileTheItemsInRankOrderWithinOneOfEachOther) {
  for (const int64_t world : {1, 2, 3, 7})
    for (int64_t n = world; n < 40; ++n) {
      int64_t next = 0, smallest = n, largest = 0;
      for (int64_t rank = 0; rank < world; ++rank) {
        const auto [begin, end] = contiguous_share(n, rank, world);
        EXPECT_EQ(begin, next) << n << " items, rank " << rank << " of " << world;
        smallest = std::min(smallest, end - begin), largest = std::max(largest, end - begin);
        next = end;
      }
      EXPECT_EQ(next, n);
      EXPECT_GE(smallest, 1);
      EXPECT_LE(largest - smallest, 1);
    }
  EXPECT_TRUE(
      test::throws_error_with([] { contiguous_share(2, 0, 3); }, {"cannot share 2 examples among 3 processes"}));
  // The loader splits a short last global batch by the same rule: 103 = 3 × 30 + 13 → 5, 4, 4.
  for (int64_t rank = 0; rank < 3; ++rank) {
    data::LoaderOptions o;
    o.batch_size = 10, o.workers = 0, o.drop_last = false, o.rank = rank, o.world_size = 3;
    const data::DataLoader loader(numbers(103), o);
    auto reader = loader.epoch(0, 3);
    EXPECT_EQ(reader->next()->indices.numel(), rank == 0 ? 5 : 4);
  }
}

TEST(Distributed, ReadsTorchrunsEnvironment) {
  setenv("WORLD_SIZE", "4", 1), setenv("RANK", "3", 1), setenv("LOCAL_RANK", "1", 1);
  setenv("MASTER_ADDR", "10.1.2.3", 1), setenv("MASTER_PORT", "1234", 1);
  DistributedOptions o = distributed_options_from_environment();
  EXPECT_EQ(o.world_size, 4);
  EXPECT_EQ(o.rank, 3);
  EXPECT_EQ(o.local_rank, 1);
  EXPECT_EQ(o.master_addr, "10.1.2.3");
  EXPECT_EQ(o.master_port, 1234);
  EXPECT_TRUE(o.launched);
  setenv("RANK", "4", 1);
  EXPECT_TRUE(test::throws_error_with([] { distributed_options_from_environment(); }, {"RANK=4", "WORLD_SIZE=4"}));
  setenv("RANK", "x", 1);
  EXPECT_TRUE(test::throws_error_with([] { distributed_options_from_environment(); }, {"RANK=x"}));
  for (const char* name : {"WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(name);
  o = distributed_options_from_environment();
  EXPECT_EQ(o.world_size, 1);
  EXPECT_FALSE(o.launched);
  EXPECT_FALSE(Distributed::create(o, torch::kCPU)->active());
  // A launcher's single process gets a real group of one (torchrun --nproc-per-node 1).
  o.launched = true, o.master_port = 29600 + ::getpid() % 100;
  const auto alone = Distributed::create(o, torch::kCPU);
  ASSERT_TRUE(alone->active());
  EXPECT_EQ(alone->backend(), "gloo");
  EXPECT_TRUE(torch::equal(alone->sum(torch::tensor({2.5, 1.0})), torch::tensor({2.5, 1.0})));
  EXPECT_EQ(alone->share(7), (std::pair<int64_t, int64_t>{0, 7}));
}

TEST(Distributed, GlooCollectivesAndBucketedGradientsEqualTheFullBatch) {
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({8, 5}), y = torch::randn({8, 2});
  auto make_model = [] {
    torch::manual_seed(1);
    return torch::nn::Sequential(torch::nn::Linear(5, 16), torch::nn::Tanh(), torch::nn::Linear(16, 16),
                                 torch::nn::Tanh(), torch::nn::Linear(16, 2));
  };
  // The gradient of the mean loss over all 8 examples, in one process.
  auto full = make_model();
  torch::mse_loss(full->forward(x), y).backward();
  std::vector<torch::Tensor> expected;
  for (const auto& p : full->parameters()) expected.push_back(p.grad().clone());

  // Built here, not on the rank threads: torch::manual_seed is process-global.
  std::vector<torch::nn::Sequential> models{make_model(), make_model()};
  std::vector<std::vector<torch::Tensor>> grads(2);
  std::vector<int64_t> bucket_counts(2);
  two_ranks([&](Distributed& group) {
    const int64_t rank = group.rank();
    torch::Tensor t = torch::full({3}, static_cast<double>(rank + 1));
    group.all_reduce_sum({t});
    EXPECT_TRUE(torch::equal(t, torch::full({3}, 3.0)));
    torch::Tensor b = torch::full({2}, static_cast<double>(rank + 7));
    group.broadcast({b}, 1);
    EXPECT_TRUE(torch::equal(b, torch::full({2}, 8.0)));
    // Shares of 7 items: [0, 4) and [4, 7); the partial sums add up over the ranks.
    EXPECT_EQ(group.share(7), (rank == 0 ? std::pair<int64_t, int64_t>{0, 4} : std::pair<int64_t, int64_t>{4, 7}));
    EXPECT_TRUE(torch::equal(group.sum(torch::tensor({static_cast<double>(rank), 1.0})), torch::tensor({1.0, 2.0})));
    EXPECT_TRUE(test::throws_error_with([&] { group.share(1); }, {"cannot share 1 examples among 2 processes"}));

    auto model = models[static_cast<size_t>(rank)];
    if (rank == 1) {  // different weights on rank 1: broadcast_module_state makes them rank 0's
      torch::NoGradGuard no_grad;
      for (auto& p : model->parameters()) p.add_(1);
    }
    train::broadcast_module_state(group, *model);
    // Small buckets (one or two parameters each) so several all-reduces overlap backward.
    train::GradientSync sync(std::shared_ptr<Distributed>(&group, [](Distributed*) {}), model->parameters(), 300);
    bucket_counts[static_cast<size_t>(rank)] = sync.buckets();
    for (int step = 0; step < 2; ++step) {  // twice: the hooks and buckets reset each step
      model->zero_grad();
      sync.start_step();
      torch::mse_loss(model->forward(x.narrow(0, 4 * rank, 4)), y.narrow(0, 4 * rank, 4)).backward();
      sync.finish_step();
    }
    for (const auto& p : model->parameters()) grads[static_cast<size_t>(rank)].push_back(p.grad().clone());
  });
  EXPECT_GT(bucket_counts[0], 2);
  for (size_t rank = 0; rank < 2; ++rank) {
    ASSERT_EQ(grads[rank].size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_TRUE(torch::allclose(grads[rank][i], expected[i], 1e-5, 1e-6)) << "rank " << rank << " parameter " << i;
  }
}

TEST(Distributed, SyncBatchNormOnTwoRanksEqualsBatchNormOnTheWholeBatch) {
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({6, 3, 4, 4}, torch::kDouble) * 2 + 1;
  const torch::Tensor upstream = torch::randn({6, 3, 4, 4}, torch::kDouble);
  auto make_norm = [] {
    torch::nn::BatchNorm2d norm(torch::nn::BatchNorm2dOptions(3).eps(1e-3));
    norm->to(torch::kDouble);
    torch::NoGradGuard no_grad;
    norm->weight.copy_(torch::tensor({0.5, 1.5, -1.0}, torch::kDouble));
    norm->bias.copy_(torch::tensor({0.1, -0.2, 0.3}, torch::kDouble));
    return norm;
  };
  // The whole batch through one BatchNorm; the loss is the mean over examples, as in training.
  auto full = make_norm();
  const torch::Tensor whole = x.clone().requires_grad_();
  const torch::Tensor reference = full->forward(whole);
  ((reference * upstream).sum() / 6).backward();

  std::vector<torch::nn::BatchNorm2d> norms{make_norm(), make_norm()};
  std::vector<torch::Tensor> outputs(2), input_grads(2), weight_grads(2), bias_grads(2);
  two_ranks([&](Distributed& group) {
    const auto r = static_cast<size_t>(group.rank());
    const torch::Tensor local = x.narrow(0, 3 * group.rank(), 3).clone().requires_grad_();
    outputs[r] = models::sync_batch_norm(local, *norms[r], group);
    // Each rank's loss is the mean over its own examples; averaging the parameter gradients
    // over the ranks (as GradientSync does) gives the whole batch's.
    ((outputs[r] * upstream.narrow(0, 3 * group.rank(), 3)).sum() / 3).backward();
    input_grads[r] = local.grad() / 2, weight_grads[r] = norms[r]->weight.grad(), bias_grads[r] = norms[r]->bias.grad();
  });
  EXPECT_TRUE(torch::allclose(torch::cat(outputs), reference, 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(torch::cat(input_grads), whole.grad(), 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose((weight_grads[0] + weight_grads[1]) / 2, full->weight.grad(), 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose((bias_grads[0] + bias_grads[1]) / 2, full->bias.grad(), 1e-10, 1e-12));
  for (size_t r = 0; r < 2; ++r) {
    EXPECT_TRUE(torch::allclose(norms[r]->running_mean, full->running_mean, 1e-10, 1e-12));
    EXPECT_TRUE(torch::allclose(norms[r]->running_var, full->running_var, 1e-10, 1e-12));
  }
}

// The whole classifier: EfficientNet (BatchNorm after every convolution, squeeze-excitation)
// converted to synchronised BatchNorm on two ranks, gradients through GradientSync, has
// exactly the whole batch's gradient.
TEST(Distributed, EfficientNetWithSyncBatchNormHasTheWholeBatchGradient) {
  const auto make = [] {
    torch::manual_seed(5);
    models::Classifier net = models::build_classifier(
        "efficientnet_phi", {{"phi", -3}, {"num_classes", 4}, {"dropout", 0}, {"stochastic_depth_prob", 0}});
    net.module().to(torch::kDouble);
    net.module().train();
    return net;
  };
  torch::manual_seed(6);
  const torch::Tensor x = torch::randn({8, 3, 32, 32}, torch::kDouble);
  const torch::Tensor labels = torch::randint(0, 4, {8});
  models::Classifier full = make();
  torch::nn::functional::cross_entropy(full.forward(x), labels).backward();

  std::vector<models::Classifier> nets{make(), make()};
  std::vector<double> worst(2);
  two_ranks([&](Distributed& group) {
    const auto r = static_cast<size_t>(group.rank());
    const auto shared = std::shared_ptr<Distributed>(&group, [](Distributed*) {});
    models::convert_sync_batch_norm(nets[r].module(), shared);
    train::GradientSync sync(shared, nets[r].module().parameters());
    sync.start_step();
    torch::nn::functional::cross_entropy(nets[r].forward(x.narrow(0, 4 * group.rank(), 4)),
                                         labels.narrow(0, 4 * group.rank(), 4))
        .backward();
    sync.finish_step();
    const auto mine = nets[r].module().named_parameters(), theirs = full.module().named_parameters();
    // Against the largest gradient: a BatchNorm bias followed by another BatchNorm has a
    // gradient that is zero up to rounding, so its own relative error means nothing.
    double scale = 0;
    for (const auto& p : theirs) scale = std::max(scale, p.value().grad().abs().max().item<double>());
    for (const auto& p : theirs)
      worst[r] = std::max(worst[r], (mine[p.key()].grad() - p.value().grad()).abs().max().item<double>() / scale);
  });
  EXPECT_LT(worst[0], 1e-9);
  EXPECT_LT(worst[1], 1e-9);
}
