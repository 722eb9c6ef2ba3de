// A training run killed (SIGKILL, by tests/fault/kill_at.cpp) before each rename and removal
// it makes in its run directory in turn — the config, every part of every checkpoint and
// its commit, the old parts' removal, the samples, the loss plot — then continued as a user
// would: every continuation works and ends exactly where the uninterrupted run ends.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/atomic_file.h"
#include "core/metrics_log.h"
#include "support/test_support.h"
#include "weights/checkpoint.h"

using zoo::test::run_command;
using zoo::test::run_zoo;
using zoo::test::TempDir;
namespace fs = std::filesystem;

namespace {

// Records without their wall-clock times, which no two runs share, and with the pictures'
// paths made relative to their run.
std::vector<zoo::Json> comparable_records(const std::string& run) {
  std::vector<zoo::Json> records = zoo::read_metrics(run + "/metrics.jsonl");
  for (zoo::Json& record : records) {
    record.erase("seconds");
    if (record.contains("samples"))
      record["samples"] = fs::relative(record["samples"].get<std::string>(), run).string();
  }
  return records;
}

void expect_same_weights(const std::string& a, const std::string& b, const std::string& what) {
  const auto x = zoo::weights::read_safetensors(a), y = zoo::weights::read_safetensors(b);
  ASSERT_EQ(x.tensors.size(), y.tensors.size()) << what;
  for (const auto& [name, tensor] : x.tensors) EXPECT_TRUE(torch::equal(tensor, y.at(name))) << what << " " << name;
}

}  // namespace

TEST(CheckpointKills, AKillAtAnyFileOperationLeavesARunThatContinuesExactly) {
  TempDir dir;
  // Two epochs of 4 steps: two checkpoints, each with an EMA, samples and their distance
  // (every epoch: by default the samples follow a time budget, which a killed run does not
  // repeat step for step).
  const std::string args =
      "train_diffusion --data toy:moons,train=256,test=64 --batch-size 64 --steps 8 --lr 1e-3 "
      "--sample-n 64 --sample-steps 2 --sample-every 1 --threads 1 --workers 0 --seed 3 ";
  const std::string straight = dir.file("straight");
  auto result = run_zoo(args, "--out " + straight);
  ASSERT_EQ(result.exit_code, 0) << result.output;

  int operations = 0;
  for (int n = 1; n <= 60; ++n) {
    SCOPED_TRACE("killed before file operation " + std::to_string(n));
    const std::string run = dir.file("run" + std::to_string(n));
    result = run_command("ZOO_KILL_AT=" + std::to_string(n) + " ZOO_KILL_UNDER=" + run +
                         " LD_PRELOAD=" ZOO_KILL_SHIM " " + ZOO_BIN_DIR + "/" + args + "--out " + run);
    if (result.exit_code == 0) break;  // the run makes fewer than n operations
    ASSERT_EQ(result.exit_code, 128 + 9) << result.output;
    operations = n;
    // Killed before its config was in place, the directory holds no run: the user runs
    // the same command again. Otherwise --resume continues it.
    const bool started = fs::exists(run + "/config.json");
    result = run_zoo(args, "--out " + run + (started ? " --resume" : ""));
    ASSERT_EQ(result.exit_code, 0) << result.output;

    expect_same_weights(straight + "/checkpoints/last.safetensors", run + "/checkpoints/last.safetensors", "weights");
    const auto ema = zoo::weights::read_checkpoint(run, /*prefer_ema=*/true);
    expect_same_weights(zoo::weights::read_checkpoint(straight, true).path, ema.path, "EMA");
    EXPECT_EQ(comparable_records(run), comparable_records(straight));
    // Every sample picture the log reports is there; nothing half-written or orphaned is.
    for (const zoo::Json& record : comparable_records(run))
      if (record.contains("samples"))
        EXPECT_TRUE(fs::exists(run + "/" + record["samples"].get<std::string>())) << record;
    int files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(run)) {
      EXPECT_FALSE(zoo::is_temporary_file_name(entry.path().filename().string())) << entry.path();
      files += entry.is_regular_file();
    }
    int expected_files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(straight)) expected_files += entry.is_regular_file();
    EXPECT_EQ(files, expected_files);
  }
  // The shim reached every operation: config, 2 checkpoints of 3 parts, the first one's
  // removal, 2 sample pictures and the loss plot.
  EXPECT_GE(operations, 12);
  RecordProperty("file_operations", operations);
}
