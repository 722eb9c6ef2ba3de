// Bad flag values in every training executable: one "error:" line, exit 2, and no run
// directory left behind to block the corrected command or a --resume.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

using zoo::test::expect_clean_error;
using zoo::test::TempDir;

namespace {

// What each trainer needs besides the flag under test (the tabular one has required flags).
const std::vector<std::pair<std::string, std::string>> kTrainers = {
    {"train_classifier", ""},
    {"train_flow", ""},
    {"train_diffusion", ""},
    {"train_vae", ""},
    {"train_tabular", "--columns c.json --target y "},
};

}  // namespace

TEST(HostileFlagsCli, EveryTrainerRefusesBadNumbersBeforeWritingAnything) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--batch-size 0", "--batch-size 0: must be at least 1"},
      {"--epochs 0", "--epochs 0: must be at least 1"},
      {"--lr nan", "--lr nan: expected a finite number"},
      {"--lr -1", "--lr -1: must be greater than 0"},
      {"--steps -1", "--steps -1: must be at least 0"},
      {"--lr inf", "--lr inf: expected a finite number"},
      {"--lr 0", "--lr 0: must be greater than 0"},
      {"--limit -5", "--limit -5: must be at least 0"},
      {"--threads 100000", "--threads 100000: this machine has"},
      {"--workers -1", "--workers -1: must be at least 0"},
      {"--workers 1000", "--workers 1000: must be at most 64"},
  };
  // Every case in one trainer, and in the others the four that the issue found in all of
  // them (the flags are declared once, in core/cli.cpp, so the rest follow).
  for (const auto& [trainer, needs] : kTrainers)
    for (size_t i = 0; i < (trainer == "train_diffusion" ? cases.size() : 4); ++i) {
      const auto& [flag, message] = cases[i];
      SCOPED_TRACE(trainer + " " + flag);
      const std::string out = dir.file("run");
      expect_clean_error(trainer, needs + flag + " --out " + out, message);
      EXPECT_FALSE(std::filesystem::exists(out));
    }
}

TEST(HostileFlagsCli, ABadValueInAConfigFileIsRefusedToo) {
  TempDir dir;
  zoo::test::write_bytes(dir.file("c.json"), R"({"batch_size": -3})");
  expect_clean_error("train_diffusion", "--config " + dir.file("c.json") + " --out " + dir.file("run"),
                     "--batch-size -3: must be at least 1");
  EXPECT_FALSE(std::filesystem::exists(dir.file("run")));
}

TEST(HostileFlagsCli, ARefusedRunLeavesNoDirectoryAndAStrayOneIsNotAppendedTo) {
  TempDir dir;
  const std::string out = dir.file("run");
  // Refused after the flags were read (an unknown model): nothing is written, so the
  // corrected command runs.
  expect_clean_error("train_flow", "--data toy:moons --model nope --out " + out, "nope");
  EXPECT_FALSE(std::filesystem::exists(out));
  const auto ok = zoo::test::run_zoo("train_flow",
                                     "--data toy:moons,train=256,test=64 --model nice --set hidden=8 --steps 2 "
                                     "--batch-size 64 --workers 0 --threads 1 --out " +
                                         out);
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  // A directory with files but no run is refused, and its files are left as they were.
  std::filesystem::create_directories(dir.file("stray"));
  zoo::test::write_bytes(dir.file("stray/metrics.jsonl"), "{\"step\": 9}\n");
  expect_clean_error("train_flow", "--data toy:moons --out " + dir.file("stray"), "holds files but no run");
  EXPECT_EQ(zoo::test::read_bytes(dir.file("stray/metrics.jsonl")), "{\"step\": 9}\n");
}

TEST(HostileFlagsCli, AFailedResumeKeepsTheConfig) {
  TempDir dir;
  const std::string out = dir.file("run");
  const std::string args =
      "--data toy:moons,train=256,test=64 --model nice --steps 2 --batch-size 64 --workers 0 --threads 1 ";
  const auto first = zoo::test::run_zoo("train_flow", args + "--set hidden=8 --out " + out);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const std::string config = zoo::test::read_bytes(out + "/config.json");
  // Another width cannot load the checkpoint: the resume fails and config.json is as it was.
  const auto resumed = zoo::test::run_zoo("train_flow", args + "--set hidden=16 --steps 4 --resume --out " + out);
  EXPECT_NE(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("error: "), std::string::npos) << resumed.output;
  EXPECT_EQ(zoo::test::read_bytes(out + "/config.json"), config);
}
