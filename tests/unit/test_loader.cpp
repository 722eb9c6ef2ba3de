#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "data/loader.h"

using namespace zoo::data;

namespace {

// Example i has input [i, i] and label i % 3.
DatasetPtr numbered(int64_t n) {
  torch::Tensor inputs = torch::arange(n, torch::kFloat).unsqueeze(1).repeat({1, 2});
  return std::make_shared<TensorDataset>(DatasetInfo{"numbered", {}, {"a", "b", "c"}}, inputs,
                                         torch::arange(n).remainder(3));
}

// Adds the example's own uniform noise, so batches show whose randomness each row got.
class AddNoise : public Transform {
 public:
  torch::Tensor operator()(const torch::Tensor& x, zoo::SampleRng& rng) const override {
    return x + rng.rand(x.sizes());
  }
};

std::vector<Batch> read_all(const DataLoader& loader, int64_t epoch, int64_t first = 0) {
  std::vector<Batch> batches;
  auto reader = loader.epoch(epoch, first);
  while (auto batch = reader->next()) batches.push_back(*batch);
  return batches;
}

torch::Tensor concat_inputs(const std::vector<Batch>& batches) {
  std::vector<torch::Tensor> parts;
  for (const auto& b : batches) parts.push_back(b.inputs);
  return torch::cat(parts);
}

}  // namespace

TEST(Loader, AnEpochVisitsEveryExampleOnce) {
  LoaderOptions options;
  options.batch_size = 7;
  DataLoader loader(numbered(50), options);
  EXPECT_EQ(loader.batches_per_epoch(), 8);
  const auto batches = read_all(loader, 0);
  ASSERT_EQ(batches.size(), 8u);
  EXPECT_EQ(batches.back().inputs.size(0), 1);
  std::set<int64_t> seen;
  for (const auto& b : batches)
    for (int64_t i = 0; i < b.indices.size(0); ++i) {
      const int64_t index = b.indices[i].item<int64_t>();
      seen.insert(index);
      EXPECT_EQ(b.inputs[i][0].item<float>(), static_cast<float>(index));
      EXPECT_EQ(b.labels[i].item<int64_t>(), index % 3);
    }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(Loader, OrderDependsOnSeedAndEpochOnly) {
  LoaderOptions options;
  options.batch_size = 8;
  options.seed = 3;
  DataLoader loader(numbered(64), options);
  EXPECT_EQ(loader.order(0), loader.order(0));
  EXPECT_NE(loader.order(0), loader.order(1));
  options.seed = 4;
  EXPECT_NE(DataLoader(numbered(64), options).order(0), loader.order(0));
  options.shuffle = false;
  const auto plain = DataLoader(numbered(64), options).order(5);
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(plain[static_cast<size_t>(i)], i);
}

TEST(Loader, WorkersDoNotChangeWhatComesOut) {
  LoaderOptions options;
  options.batch_size = 5;
  options.workers = 0;
  auto transform = std::make_shared<AddNoise>();
  const torch::Tensor inline_read = concat_inputs(read_all(DataLoader(numbered(40), options, transform), 2));
  options.workers = 3;
  options.prefetch = 2;
  const torch::Tensor threaded = concat_inputs(read_all(DataLoader(numbered(40), options, transform), 2));
  EXPECT_TRUE(torch::equal(inline_read, threaded));
}

TEST(Loader, AugmentationDoesNotDependOnBatchSize) {
  auto transform = std::make_shared<AddNoise>();
  LoaderOptions options;
  options.shuffle = false;
  options.batch_size = 4;
  const torch::Tensor small = concat_inputs(read_all(DataLoader(numbered(24), options, transform), 1));
  options.batch_size = 24;
  const torch::Tensor large = concat_inputs(read_all(DataLoader(numbered(24), options, transform), 1));
  EXPECT_TRUE(torch::equal(small, large));
  // ...but a new epoch draws new augmentations.
  const torch::Tensor next_epoch = concat_inputs(read_all(DataLoader(numbered(24), options, transform), 2));
  EXPECT_FALSE(torch::equal(large, next_epoch));
}

TEST(Loader, StartingMidEpochGivesTheRestOfTheSameEpoch) {
  LoaderOptions options;
  options.batch_size = 6;
  DataLoader loader(numbered(60), options, std::make_shared<AddNoise>());
  const auto all = read_all(loader, 4);
  const auto tail = read_all(loader, 4, 3);
  ASSERT_EQ(tail.size(), all.size() - 3);
  for (size_t i = 0; i < tail.size(); ++i) EXPECT_TRUE(torch::equal(tail[i].inputs, all[i + 3].inputs));
}

TEST(Loader, DropLastAndLimit) {
  LoaderOptions options;
  options.batch_size = 8;
  options.drop_last = true;
  DataLoader loader(numbered(20), options);
  EXPECT_EQ(loader.batches_per_epoch(), 2);
  for (const auto& b : read_all(loader, 0)) EXPECT_EQ(b.inputs.size(0), 8);
  DatasetPtr limited = std::make_shared<Subset>(numbered(20), 5);
  EXPECT_EQ(limited->size(), 5);
  EXPECT_THROW(Subset(numbered(20), 0), zoo::Error);
  // A share from the middle, clipped at the end.
  const Subset share(numbered(20), 10, 15);
  EXPECT_EQ(share.size(), 5);
  EXPECT_EQ(share.get(0).input[0].item<float>(), 15);
  EXPECT_EQ(share.get(4).label, 19 % 3);
  EXPECT_THROW(Subset(numbered(20), 1, 20), zoo::Error);
}

TEST(Loader, AWorkerErrorReachesTheConsumer) {
  class Failing : public Transform {
   public:
    torch::Tensor operator()(const torch::Tensor& x, zoo::SampleRng&) const override {
      if (x[0].item<float>() == 13) throw zoo::Error("example 13 is corrupt");
      return x;
    }
  };
  LoaderOptions options;
  options.batch_size = 4;
  options.workers = 2;
  DataLoader loader(numbered(32), options, std::make_shared<Failing>());
  EXPECT_THROW(read_all(loader, 0), zoo::Error);
}
