#pragma once
// Batches for training and evaluation. Background worker threads read and transform
// examples ahead of the model (a bounded prefetch queue), and batches come out in order.
// Which examples an epoch visits, and in what order, is a function of (seed, epoch) only,
// so a run resumed at batch b of epoch e sees exactly what the uninterrupted run saw.
#include <torch/torch.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"

namespace zoo::data {

struct Batch {
  torch::Tensor inputs;   // [B, ...] float32
  torch::Tensor labels;   // [B] int64 (-1 for unlabelled data)
  torch::Tensor indices;  // [B] int64: each example's index in the dataset
  torch::Tensor targets;  // [B, ...] float32 regression targets; undefined when the data has none
};

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;
  int64_t workers = 2;   // background threads; 0 reads on the calling thread
  int64_t prefetch = 4;  // batches prepared ahead of the consumer
  uint64_t seed = 0;
  // Data-parallel sharding: every rank walks the same (seed, epoch) order in global batches
  // of batch_size × world_size examples and reads its own contiguous slice of each, so the
  // ranks together see exactly what one process with the global batch would.
  int64_t rank = 0, world_size = 1;
};

class DataLoader;

// One pass over the data. Owns the worker threads; destroying it stops them.
class EpochReader {
 public:
  ~EpochReader();
  EpochReader(const EpochReader&) = delete;
  EpochReader& operator=(const EpochReader&) = delete;
  // The next batch, or nothing at the end of the epoch. Worker errors are rethrown here.
  std::optional<Batch> next();

 private:
  friend class DataLoader;
  EpochReader(const DataLoader& loader, int64_t epoch, int64_t first_batch);
  void work();

  const DataLoader& loader_;
  int64_t epoch_;
  std::vector<int64_t> order_;
  int64_t next_to_return_, next_to_claim_, end_;
  std::map<int64_t, Batch> ready_;
  std::exception_ptr failure_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> workers_;
};

class DataLoader {
 public:
  DataLoader(DatasetPtr dataset, LoaderOptions options, TransformPtr transform = nullptr);

  int64_t batches_per_epoch() const;
  // Reads epoch `epoch` starting at batch `first_batch` (for resuming mid-epoch).
  std::unique_ptr<EpochReader> epoch(int64_t epoch, int64_t first_batch = 0) const;
  // The order in which epoch `epoch` visits the dataset.
  std::vector<int64_t> order(int64_t epoch) const;
  // Reads and transforms batch `batch` of an epoch whose order is given.
  Batch make_batch(const std::vector<int64_t>& order, int64_t epoch, int64_t batch) const;

  const Dataset& dataset() const { return *dataset_; }
  const LoaderOptions& options() const { return options_; }

 private:
  DatasetPtr dataset_;
  LoaderOptions options_;
  TransformPtr transform_;
};

}  // namespace zoo::data
