// train_tabular on CSV tables the test writes (a classification and a regression it must
// learn, and bad input), and train_vae on a slice of Fashion-MNIST with both latents.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>

#include "core/metrics_log.h"
#include "support/test_support.h"

using nlohmann::json;
using zoo::test::expect_clean_error;
using zoo::test::run_zoo;
using zoo::test::TempDir;

namespace {

// 400 rows: the class is "high" when x + (city == "a") > 1, and y = 3x − 2·(city == "b") + 1.
std::string synthetic_csv() {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> uniform(0, 1.5);
  std::ostringstream out;
  out << "x,city,class,y\n";
  const char* cities[] = {"a", "b", "c"};
  for (int i = 0; i < 400; ++i) {
    const double x = uniform(rng);
    const std::string city = cities[i % 3];
    out << x << "," << city << "," << (x + (city == "a") > 1 ? "high" : "low") << "," << 3 * x - 2 * (city == "b") + 1
        << "\n";
  }
  return out.str();
}

const char* kColumns = R"({"columns": [
  {"type": "numeric", "key": "x", "normalizer": "standard"},
  {"type": "indicator", "categorical": {"type": "vocabulary", "key": "city"}},
  {"type": "embedding", "dimension": 2, "categorical": {"type": "hash", "key": "city", "buckets": 8}}
]})";

json last_record(const std::string& run) { return zoo::read_metrics(run + "/metrics.jsonl").back(); }

}  // namespace

TEST(TabularCli, LearnsAClassificationAndARegression) {
  TempDir dir;
  zoo::test::write_bytes(dir.file("t.csv"), synthetic_csv());
  zoo::test::write_bytes(dir.file("columns.json"), kColumns);
  const std::string common = "--data csv:" + dir.file("t.csv") + " --columns " + dir.file("columns.json") +
                             " --epochs 30 --batch-size 32 --lr 0.01 --threads 1 --seed 2 --out ";
  auto result = run_zoo("train_tabular", common + dir.file("class") + " --target class");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const json c = last_record(dir.file("class"));
  EXPECT_GT(c["test_accuracy"].get<double>(), 0.9) << c;
  EXPECT_GT(c["test_accuracy"].get<double>(), c["trivial_accuracy"].get<double>() + 0.2) << c;
  EXPECT_GT(c["test_macro_f1"].get<double>(), 0.85) << c;

  result = run_zoo("train_tabular", common + dir.file("reg") + " --target y");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const json r = last_record(dir.file("reg"));
  EXPECT_LT(r["test_rmse"].get<double>(), 0.25 * r["trivial_rmse"].get<double>()) << r;
  // The fitted columns travel with the run.
  const json config = json::parse(zoo::test::read_bytes(dir.file("reg") + "/config.json"));
  EXPECT_EQ(config["target"], "y");
}

TEST(TabularCli, BadTablesAndFlagsAreCleanErrors) {
  TempDir dir;
  zoo::test::write_bytes(dir.file("bad.csv"), "x,city,class\n0.5,a,high\n0.7,b,low\nwarm,c,low\n");
  zoo::test::write_bytes(dir.file("columns.json"), kColumns);
  const std::string base = " --columns " + dir.file("columns.json") + " --out " + dir.file("run");
  expect_clean_error("train_tabular", "--data csv:" + dir.file("bad.csv") + base + " --target class",
                     "line 4, column 'x'");
  zoo::test::write_bytes(dir.file("t.csv"), synthetic_csv());
  expect_clean_error("train_tabular", "--data csv:" + dir.file("t.csv") + base + " --target weather",
                     "no column 'weather'");
  expect_clean_error("train_tabular", "--data fashion-mnist" + base + " --target class", "csv:FILE");
  expect_clean_error("train_tabular", "--data csv:" + dir.file("t.csv") + base + " --target class --loss hinge",
                     "hinge");
  EXPECT_FALSE(std::filesystem::exists(dir.file("run/checkpoints")));
}

TEST(VaeCli, BothLatentsTrainAndReportTheTestElbo) {
  for (const std::string latent : {"gaussian", "categorical"}) {
    TempDir dir;
    const std::string run = dir.file("run");
    const auto result =
        run_zoo("train_vae", "--latent " + latent +
                                 " --limit 1024 --eval-limit 256 --epochs 3 --hidden 128 --variables 8"
                                 " --categories 4 --latent-dim 8 --batch-size 64 --threads 1 --workers 0"
                                 " --seed 3 --out " +
                                 run);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    std::vector<double> elbo;
    for (const json& record : zoo::read_metrics(run + "/metrics.jsonl"))
      if (record.contains("test_elbo")) {
        elbo.push_back(record["test_elbo"]);
        EXPECT_TRUE(std::filesystem::exists(record["samples"].get<std::string>()));
        EXPECT_TRUE(std::filesystem::exists(record["reconstructions"].get<std::string>()));
        EXPECT_NEAR(record["test_elbo"].get<double>(),
                    record["test_reconstruction"].get<double>() - record["test_kl"].get<double>(), 1e-6);
      }
    ASSERT_EQ(elbo.size(), 3u) << latent;
    // 784 binary pixels: an ELBO is negative, better than coin flips (−543 nats), and rises.
    EXPECT_LT(elbo.back(), 0);
    EXPECT_GT(elbo.back(), -784 * std::log(2.0)) << latent;
    EXPECT_GT(elbo.back(), elbo.front()) << latent;
  }
  expect_clean_error("train_vae", "--latent discrete --out /tmp/unused_vae_run", "discrete");
}
