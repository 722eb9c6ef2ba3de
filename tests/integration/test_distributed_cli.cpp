// Data-parallel training end to end on loopback (Gloo): for every training executable, two
// processes started by zoo_launch with batch B each end with the same weights as one
// process with batch 2B; a killed worker stops the others with an error and leaves the
// last checkpoint whole.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "weights/safetensors.h"

using zoo::test::run_command;
using zoo::test::run_zoo;
using zoo::test::TempDir;

namespace {

const std::string kBin = ZOO_BIN_DIR;

bool is_running_statistic(const std::string& name) {
  return name.find("running_mean") != std::string::npos || name.find("running_var") != std::string::npos;
}

// The largest difference of two checkpoints' tensors (those `chosen`), relative to each
// tensor's magnitude where that exceeds 1.
double distance(
    const zoo::weights::SafeTensors& x, const zoo::weights::SafeTensors& y,
    const std::function<bool(const std::string&)>& chosen = [](const std::string&) { return true; }) {
  double worst = 0;
  for (const auto& [name, tensor] : x.tensors) {
    if (!chosen(name)) continue;
    const torch::Tensor t = tensor.to(torch::kDouble), u = y.at(name).to(torch::kDouble);
    worst = std::max(worst, (t - u).abs().max().item<double>() / std::max(1.0, t.abs().max().item<double>()));
  }
  return worst;
}

double distance(const std::string& checkpoint, const std::string& other) {
  return distance(zoo::weights::read_safetensors(checkpoint), zoo::weights::read_safetensors(other));
}

struct Agreement {
  double parameters = 1e-5;  // every tensor but BatchNorm's running statistics
  double statistics = 1e-5;  // BatchNorm's running means and variances
};

// Trains `arguments` once alone with --batch-size 2B and once as two zoo_launch workers
// with --batch-size B; the final weights must agree.
void expect_two_processes_equal_one(const std::string& executable, const std::string& arguments, int64_t batch,
                                    Agreement tolerance = {}) {
  TempDir dir;
  const std::string common = arguments + " --threads 1 --seed 4 ";
  auto one = run_zoo(executable, common + "--batch-size " + std::to_string(2 * batch) + " --out " + dir.file("one"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto two = run_command(kBin + "/zoo_launch --nproc 2 -- " + executable + " " + common + "--batch-size " +
                         std::to_string(batch) + " --out " + dir.file("two") + " 2>&1");
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const auto a = zoo::weights::read_safetensors(dir.file("one/checkpoints/last.safetensors"));
  const auto b = zoo::weights::read_safetensors(dir.file("two/checkpoints/last.safetensors"));
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  const auto is_parameter = [](const std::string& name) { return !is_running_statistic(name); };
  EXPECT_LT(distance(a, b, is_parameter), tolerance.parameters) << executable;
  EXPECT_LT(distance(a, b, is_running_statistic), tolerance.statistics) << executable;
  // The comparison can tell runs apart: one process with batch B ends elsewhere.
  auto half = run_zoo(executable, common + "--batch-size " + std::to_string(batch) + " --out " + dir.file("half"));
  ASSERT_EQ(half.exit_code, 0) << half.output;
  const auto c = zoo::weights::read_safetensors(dir.file("half/checkpoints/last.safetensors"));
  EXPECT_GT(distance(a, c, is_parameter), 100 * tolerance.parameters) << executable;
  const bool has_statistics = std::any_of(a.tensors.begin(), a.tensors.end(),
                                          [](const auto& named) { return is_running_statistic(named.first); });
  if (has_statistics) EXPECT_GT(distance(a, c, is_running_statistic), 10 * tolerance.statistics) << executable;
  // Only rank 0 wrote the log: as many records as the single process's, not twice as many;
  // and the training losses and test scores, which each rank computed on its half and
  // reduced over the group, are the single process's.
  const auto records = [&](const std::string& run) {
    std::vector<nlohmann::json> out;
    std::istringstream lines(zoo::test::read_bytes(dir.file(run + "/metrics.jsonl")));
    for (std::string line; std::getline(lines, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  };
  const auto alone = records("one"), shared = records("two");
  ASSERT_EQ(shared.size(), alone.size()) << executable;
  int scores = 0;
  for (size_t i = 0; i < alone.size(); ++i)
    for (const auto& [key, value] : alone[i].items())
      if (key.rfind("test_", 0) == 0 || key == "loss") {
        ++scores;
        const double x = value, y = shared[i].at(key);
        EXPECT_NEAR(y, x, 1e-4 * std::max(1.0, std::abs(x))) << executable << " record " << i << " " << key;
      }
  EXPECT_GT(scores, 0) << executable;
}

}  // namespace

TEST(DistributedCli, TwoProcessesTrainAsOneWithTheDoubleBatch) {
  expect_two_processes_equal_one("train_diffusion", "--data toy:moons,train=2000,test=500 --steps 30 --lr 1e-3", 32);
  expect_two_processes_equal_one("train_flow",
                                 "--data toy:moons,train=2000,test=500 --model nice --set hidden=32 --steps 30", 32);
  TempDir table;
  std::string csv = "x,c,y\n";
  for (int i = 0; i < 256; ++i)
    csv += std::to_string(i / 256.0) + "," + (i % 3 ? "a" : "b") + "," + std::to_string(i % 7) + "\n";
  zoo::test::write_bytes(table.file("t.csv"), csv);
  zoo::test::write_bytes(
      table.file("c.json"),
      R"({"columns": [{"type": "numeric", "key": "x"}, {"type": "indicator", "categorical": {"type": "vocabulary", "key": "c"}}]})");
  expect_two_processes_equal_one(
      "train_tabular",
      "--data csv:" + table.file("t.csv") + " --columns " + table.file("c.json") + " --target y --dropout 0 --steps 30",
      16);
}

TEST(DistributedCli, ClassifierWithSyncBatchNormAndVaeTrainAsOne) {
  // EfficientNet's BatchNorm needs the global batch's statistics (--sync-batch-norm);
  // dropout and stochastic depth would draw from the global generator, so they are off.
  // Few small steps: this tiny network's training is chaotic (one process with 1 or 2
  // threads differs by 0.2 after 8 steps at lr 1e-3); the exact gradient is checked in the
  // unit test Distributed.EfficientNetWithSyncBatchNormHasTheWholeBatchGradient.
  // The running variances are batch variances of convolution outputs, quadratic in the
  // convolutions' weights. Those weights are drawn with standard deviation sqrt(2/fan-out)
  // >= 0.0096 here (fan-out <= 864·5·5), so weights that agree to 1e-5 agree to 1e-3
  // relatively, and a variance to twice that. (Measured: weights within 9e-7, variances
  // within 9e-6 here and 1.4e-5 on another CPU; one process with half the batch ends 1e-2
  // and 0.27 away.)
  expect_two_processes_equal_one("train_classifier",
                                 "--limit 256 --eval-limit 64 --model efficientnet_phi --set phi=-3 --set dropout=0"
                                 " --set stochastic_depth_prob=0 --image-size 32 --ema 0 --optimizer sgd --lr 1e-4"
                                 " --steps 3 --sync-batch-norm --workers 0",
                                 16, Agreement{1e-5, 2 * 1e-5 / 0.0096});
  // Adam's first step moves a weight by lr·g/(|g| + eps); a ReLU unit dead on the whole batch
  // has g ≈ 1e-9, pure rounding, so any summation order moves it by up to ~1e-2·lr. A
  // smaller lr keeps that under the tolerance (one process with 1 or 2 threads does the same).
  const std::string vae = " --limit 256 --eval-limit 64 --hidden 64 --lr 3e-4 --steps 8 --workers 0";
  expect_two_processes_equal_one("train_vae", "--latent-dim 8" + vae, 16);
  expect_two_processes_equal_one("train_vae", "--latent categorical --variables 4" + vae, 16);
}

TEST(DistributedCli, ResumeContinuesWithAnyNumberOfProcesses) {
  // 15 steps by two processes, then the last 15 resumed by two processes, and (from a copy)
  // by one process with the double batch: both end where 30 uninterrupted steps do.
  // (A constant learning rate: a cosine schedule depends on the run's total steps.)
  TempDir dir;
  const std::string args = "--data toy:moons,train=2000,test=500 --lr 1e-3 --lr-decay none --threads 1 --seed 4 ";
  const auto launch = [&](const std::string& more) {
    const auto r =
        run_command(kBin + "/zoo_launch --nproc 2 -- train_diffusion " + args + "--batch-size 32 " + more + " 2>&1");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  };
  launch("--steps 30 --out " + dir.file("straight"));
  launch("--steps 15 --out " + dir.file("two"));
  std::filesystem::copy(dir.file("two"), dir.file("one"), std::filesystem::copy_options::recursive);
  launch("--steps 30 --resume --out " + dir.file("two"));
  const auto alone = run_zoo("train_diffusion", args + "--batch-size 64 --steps 30 --resume --out " + dir.file("one"));
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  for (const std::string run : {"two", "one"})
    EXPECT_LT(
        distance(dir.file("straight/checkpoints/last.safetensors"), dir.file(run + "/checkpoints/last.safetensors")),
        1e-5)
        << run;
}

TEST(DistributedCli, AnotherMachineNeedsNoRunDirectory) {
  // Rank 1 started by hand with an --out that does not exist, as on a second machine without
  // a shared filesystem: it writes nothing, and receives rank 0's reflow pairs, so the run
  // ends where one process with the double batch does.
  TempDir dir;
  auto source = run_zoo("train_diffusion",
                        "--data toy:moons,train=2000,test=500 --objective rf --steps 20 --threads 1 "
                        "--workers 0 --out " +
                            dir.file("rf1"));
  ASSERT_EQ(source.exit_code, 0) << source.output;
  const std::string reflow =
      kBin + "/train_diffusion --objective rf --reflow-from " + dir.file("rf1") +
      " --pairs 256 --pair-sampler euler --pair-steps 4 --steps 20 --sample-every 100 --lr-decay none --threads 1 "
      "--workers 0 --seed 4 ";
  auto alone = run_command(reflow + "--batch-size 64 --out " + dir.file("one") + " 2>&1");
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  const std::string env = "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$((29000 + ($$ + 450) % 900)) ";
  const auto two = run_command("bash -c '" + env + "RANK=0 " + reflow + "--batch-size 32 --out " + dir.file("two") +
                               " & r0=$!; " + env + "RANK=1 " + reflow + "--batch-size 32 --out " +
                               dir.file("elsewhere") + "; s1=$?; wait $r0; echo status $? $s1' 2>&1");
  ASSERT_NE(two.output.find("status 0 0"), std::string::npos) << two.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("elsewhere")));
  EXPECT_LT(distance(dir.file("one/checkpoints/last.safetensors"), dir.file("two/checkpoints/last.safetensors")), 1e-5);
}

TEST(DistributedCli, AKilledWorkerStopsTheOthersAndTheCheckpointSurvives) {
  TempDir dir;
  const std::string run = dir.file("run");
  // Two workers started by hand (as torchrun would), a short collective timeout, and rank 1
  // killed once the first checkpoint exists: rank 0 must fail with one error line.
  const std::string env = "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$((29000 + $$ % 900)) ZOO_DIST_TIMEOUT=20 ";
  const std::string worker = kBin +
                             "/train_diffusion --data toy:moons,train=2000,test=500 --steps 1000000 --batch-size 32 "
                             "--threads 1 --workers 0 --out " +
                             run;
  const std::string script =
      "set -u; " + env + "RANK=0 " + worker + " > " + dir.file("rank0.log") + " 2>&1 & r0=$!; " + env + "RANK=1 " +
      worker + " > " + dir.file("rank1.log") + " 2>&1 & r1=$!; " + "for i in $(seq 600); do [ -f " + run +
      "/checkpoints/last.safetensors ] && break; sleep 0.1; done; " +
      "sleep 1; kill -9 $r1; start=$(date +%s); wait $r0; echo \"rank0 status $? after $(( $(date +%s) - start )) s\"";
  const auto result = run_command("bash -c '" + script + "'");
  ASSERT_NE(result.output.find("rank0 status"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find("rank0 status 0 "), std::string::npos) << result.output;
  const std::string log = zoo::test::read_bytes(dir.file("rank0.log"));
  EXPECT_NE(log.find("error: "), std::string::npos) << log;
  const int seconds = std::stoi(result.output.substr(result.output.find("after ") + 6));
  EXPECT_LE(seconds, 30) << result.output;
  // The checkpoint rank 0 wrote before is whole and loads.
  const auto checkpoint = zoo::weights::read_safetensors(run + "/checkpoints/last.safetensors");
  EXPECT_FALSE(checkpoint.tensors.empty());

  // zoo_launch stops the survivors itself and returns the failed worker's status.
  const auto launched = run_command(
      kBin + "/zoo_launch --nproc 2 --grace 2 -- bash -c 'if [ \"$RANK\" = 1 ]; then exit 3; fi; sleep 60' 2>&1");
  EXPECT_EQ(launched.exit_code, 3) << launched.output;
  zoo::test::expect_clean_error("zoo_launch", "--nproc 2", "no program");
}
