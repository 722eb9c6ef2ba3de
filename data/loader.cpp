#include "data/loader.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/shard.h"

namespace zoo::data {

DataLoader::DataLoader(DatasetPtr dataset, LoaderOptions options, TransformPtr transform)
    : dataset_(std::move(dataset)), options_(options), transform_(std::move(transform)) {
  if (options_.batch_size < 1) throw Error("--batch-size must be at least 1", ErrorKind::usage);
  if (options_.workers < 0 || options_.prefetch < 1) throw Error("loader: bad workers/prefetch", ErrorKind::usage);
  if (dataset_->size() == 0) throw Error(dataset_->info().name + ": the dataset is empty");
  if (options_.world_size < 1 || options_.rank < 0 || options_.rank >= options_.world_size)
    throw Error("loader: rank " + std::to_string(options_.rank) + " of " + std::to_string(options_.world_size),
                ErrorKind::usage);
  if (options_.world_size > 1 && dataset_->size() < options_.batch_size * options_.world_size)
    throw Error(dataset_->info().name + ": " + std::to_string(dataset_->size()) +
                    " examples are fewer than one global batch (" + std::to_string(options_.batch_size) + " × " +
                    std::to_string(options_.world_size) + " processes)",
                ErrorKind::usage);
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = dataset_->size(), b = options_.batch_size * options_.world_size;
  return options_.drop_last ? std::max<int64_t>(1, n / b) : (n + b - 1) / b;
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(dataset_->size()));
  std::iota(order.begin(), order.end(), 0);
  if (options_.shuffle) {
    // Fisher-Yates from a generator seeded by (seed, epoch): reproducible anywhere.
    SampleRng rng(options_.seed, Stream::shuffle, static_cast<uint64_t>(epoch));
    for (int64_t i = static_cast<int64_t>(order.size()) - 1; i > 0; --i)
      std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(rng.randint(i + 1))]);
  }
  return order;
}

Batch DataLoader::make_batch(const std::vector<int64_t>& order, int64_t epoch, int64_t batch) const {
  const int64_t global = options_.batch_size * options_.world_size;
  const int64_t global_end = std::min<int64_t>((batch + 1) * global, static_cast<int64_t>(order.size()));
  // Full global batches give every rank batch_size examples; a short last one (loaders that
  // keep one) is split as evaluation splits a test set.
  const auto [first, last] = contiguous_share(global_end - batch * global, options_.rank, options_.world_size);
  const int64_t begin = batch * global + first, end = batch * global + last;
  std::vector<torch::Tensor> inputs, targets;
  std::vector<int64_t> labels, indices;
  for (int64_t i = begin; i < end; ++i) {
    const int64_t index = order[static_cast<size_t>(i)];
    Example example = dataset_->get(index);
    if (transform_) {
      SampleRng rng(derive_seed(options_.seed, static_cast<uint64_t>(Stream::augment), static_cast<uint64_t>(epoch)),
                    Stream::augment, static_cast<uint64_t>(index));
      example.input = (*transform_)(example.input, rng);
    }
    inputs.push_back(example.input);
    labels.push_back(example.label);
    indices.push_back(index);
    if (example.target.defined()) targets.push_back(example.target);
  }
  return {torch::stack(inputs), torch::tensor(labels, torch::kLong), torch::tensor(indices, torch::kLong),
          targets.empty() ? torch::Tensor() : torch::stack(targets)};
}

std::unique_ptr<EpochReader> DataLoader::epoch(int64_t epoch, int64_t first_batch) const {
  return std::unique_ptr<EpochReader>(new EpochReader(*this, epoch, first_batch));
}

EpochReader::EpochReader(const DataLoader& loader, int64_t epoch, int64_t first_batch)
    : loader_(loader),
      epoch_(epoch),
      order_(loader.order(epoch)),
      next_to_return_(first_batch),
      next_to_claim_(first_batch),
      end_(loader.batches_per_epoch()) {
  for (int64_t i = 0; i < loader.options().workers; ++i) workers_.emplace_back([this] { work(); });
}

EpochReader::~EpochReader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void EpochReader::work() {
  for (;;) {
    int64_t batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] {
        return stopping_ || next_to_claim_ >= end_ || next_to_claim_ < next_to_return_ + loader_.options().prefetch;
      });
      if (stopping_ || next_to_claim_ >= end_) return;
      batch = next_to_claim_++;
    }
    std::optional<Batch> made;
    std::exception_ptr failure;
    try {
      made = loader_.make_batch(order_, epoch_, batch);
    } catch (...) {
      failure = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (failure && !failure_) failure_ = failure;
      if (made) ready_.emplace(batch, std::move(*made));
    }
    changed_.notify_all();
  }
}

std::optional<Batch> EpochReader::next() {
  if (next_to_return_ >= end_) return std::nullopt;
  if (workers_.empty()) return loader_.make_batch(order_, epoch_, next_to_return_++);
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return failure_ || ready_.count(next_to_return_) > 0; });
  if (failure_) std::rethrow_exception(failure_);
  auto node = ready_.extract(next_to_return_++);
  lock.unlock();
  changed_.notify_all();
  return std::move(node.mapped());
}

}  // namespace zoo::data
