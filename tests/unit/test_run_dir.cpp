#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/metrics_log.h"
#include "core/run_dir.h"
#include "support/test_support.h"

TEST(RunDir, WritesNothingUntilTheRunStartsAndRefusesToOverwriteARun) {
  zoo::test::TempDir dir;
  const std::string path = dir.file("run");
  const auto run = zoo::RunDir::create(path, {{"lr", 0.1}});
  // A run refused after this point (a bad flag, a bad file) leaves no trace.
  EXPECT_FALSE(std::filesystem::exists(path));
  run.start();
  EXPECT_TRUE(std::filesystem::is_directory(path + "/checkpoints"));
  EXPECT_TRUE(std::filesystem::is_directory(path + "/samples"));
  EXPECT_EQ(run.config()["lr"], 0.1);
  try {
    zoo::RunDir::create(path, {{"lr", 0.2}});
    FAIL() << "a second run overwrote the first";
  } catch (const zoo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos);
  }
  EXPECT_EQ(run.config()["lr"], 0.1);
  // A resume that fails before it starts does not rewrite the config.
  const auto resumed = zoo::RunDir::open(path, {{"lr", 0.3}});
  EXPECT_FALSE(resumed.has_checkpoint("last"));
  EXPECT_EQ(resumed.config()["lr"], 0.1);
  resumed.start();
  EXPECT_EQ(resumed.config()["lr"], 0.3);
  EXPECT_THROW(zoo::RunDir::open(dir.file("nothing"), nullptr), zoo::Error);
}

TEST(RunDir, RefusesADirectoryWithFilesButNoRunAndAFile) {
  zoo::test::TempDir dir;
  std::filesystem::create_directories(dir.file("stray"));
  zoo::test::write_bytes(dir.file("stray/metrics.jsonl"), "{\"step\": 1}\n");
  EXPECT_TRUE(
      zoo::test::throws_error_with([&] { zoo::RunDir::create(dir.file("stray"), {}); }, {"holds files but no run"}));
  EXPECT_EQ(zoo::test::read_bytes(dir.file("stray/metrics.jsonl")), "{\"step\": 1}\n");
  zoo::test::write_bytes(dir.file("file"), "x");
  EXPECT_TRUE(zoo::test::throws_error_with([&] { zoo::RunDir::create(dir.file("file"), {}); }, {"not a directory"}));
  // An empty directory is a fine place for a new run.
  std::filesystem::create_directories(dir.file("empty"));
  EXPECT_NO_THROW(zoo::RunDir::create(dir.file("empty"), {}).start());
}

TEST(RunDir, StartRemovesTheTemporariesOfKilledWriters) {
  zoo::test::TempDir dir;
  const std::string path = dir.file("run");
  zoo::RunDir::create(path, {}).start();
  for (const std::string file :
       {"/config.json.tmp.4242", "/checkpoints/last.safetensors.tmp.17", "/samples/step.png.tmp.9"})
    zoo::test::write_bytes(path + file, "partial");
  zoo::test::write_bytes(path + "/samples/keep.tmp.png", "a user's file");
  zoo::RunDir::open(path, {}).start();
  EXPECT_FALSE(std::filesystem::exists(path + "/config.json.tmp.4242"));
  EXPECT_FALSE(std::filesystem::exists(path + "/checkpoints/last.safetensors.tmp.17"));
  EXPECT_FALSE(std::filesystem::exists(path + "/samples/step.png.tmp.9"));
  EXPECT_TRUE(std::filesystem::exists(path + "/samples/keep.tmp.png"));
}

TEST(MetricsLog, ResumeDropsRecordsWrittenAfterTheCheckpoint) {
  zoo::test::TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  {
    zoo::MetricsLog log(path);
    for (int step = 1; step <= 5; ++step) log.write({{"step", step}, {"loss", 1.0 / step}});
    log.write({{"note", "no step"}});
  }
  {
    zoo::MetricsLog log(path, 3);
    log.write({{"step", 4}, {"loss", 9}});
  }
  const auto records = zoo::read_metrics(path);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[2]["step"], 3);
  EXPECT_EQ(records[3]["note"], "no step");
  EXPECT_EQ(records[4]["loss"], 9);
}

TEST(MetricsLog, ALastLineCutShortIsDroppedOnResume) {
  zoo::test::TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  zoo::test::write_bytes(path, "{\"step\": 1}\n{\"step\": 2}\n{\"step\": 3, \"lo");  // killed mid-line
  EXPECT_EQ(zoo::read_metrics(path).size(), 2u);
  {
    zoo::MetricsLog log(path, 2);
    log.write({{"step", 3}});
  }
  const auto records = zoo::read_metrics(path);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2]["step"], 3);
}

TEST(MetricsLog, AMalformedLineIsNamed) {
  zoo::test::TempDir dir;
  zoo::test::write_bytes(dir.file("m.jsonl"), "{\"step\": 1}\n{oops\n");
  try {
    zoo::read_metrics(dir.file("m.jsonl"));
    FAIL();
  } catch (const zoo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}
