#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "core/metrics_log.h"
#include "core/run_dir.h"
#include "support/test_support.h"

TEST(RunDir, CreatesTheLayoutAndRefusesToOverwriteARun) {
  zoo::test::TempDir dir;
  const std::string path = dir.file("run");
  const auto run = zoo::RunDir::create(path, {{"lr", 0.1}});
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
  // Nothing to resume from yet.
  EXPECT_THROW(zoo::RunDir::open(path), zoo::Error);
  EXPECT_THROW(zoo::RunDir::open(dir.file("nothing")), zoo::Error);
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
