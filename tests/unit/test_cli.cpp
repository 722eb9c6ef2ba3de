#include <gtest/gtest.h>

#include "core/cli.h"
#include "core/error.h"
#include "support/test_support.h"

using zoo::Cli;
using zoo::Json;

namespace {

Cli example_cli() {
  Cli cli("example", "test program");
  cli.text("device", "device", "auto")
      .integer("seed", "seed", 0)
      .text("config", "option file", "")
      .integer("batch-size", "batch", 64)
      .real("lr", "rate", 1e-3)
      .flag("resume", "resume")
      .texts("image", "images");
  return cli;
}

Json parse(const Cli& cli, std::vector<std::string> args, const Json& base = Json::object()) {
  std::vector<const char*> argv{"example"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return cli.parse(static_cast<int>(argv.size()), argv.data(), base);
}

int exit_code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const zoo::Error& e) {
    return e.exit_code();
  }
  return 0;
}

}  // namespace

TEST(Cli, DefaultsApplyWhenNothingIsGiven) {
  const Json options = parse(example_cli(), {});
  EXPECT_EQ(options["batch_size"], 64);
  EXPECT_DOUBLE_EQ(options["lr"].get<double>(), 1e-3);
  EXPECT_EQ(options["device"], "auto");
  EXPECT_EQ(options["resume"], false);
  EXPECT_TRUE(options["image"].empty());
}

TEST(Cli, ConfigFileOverridesDefaultsAndFlagsOverrideConfig) {
  zoo::test::TempDir dir;
  zoo::test::write_bytes(dir.file("run.json"), R"({"batch_size": 8, "lr": 2, "seed": 5})");
  const Json options = parse(example_cli(), {"--config", dir.file("run.json"), "--batch-size", "16"});
  EXPECT_EQ(options["batch_size"], 16);                // flag wins
  EXPECT_DOUBLE_EQ(options["lr"].get<double>(), 2.0);  // from the file (an integer standing for a real)
  EXPECT_EQ(options["seed"], 5);
}

TEST(Cli, BaseLayerSitsBetweenDefaultsAndFlags) {
  const Json options = parse(example_cli(), {"--lr", "0.5"}, Json{{"batch_size", 3}, {"lr", 0.1}});
  EXPECT_EQ(options["batch_size"], 3);
  EXPECT_DOUBLE_EQ(options["lr"].get<double>(), 0.5);
}

TEST(Cli, ListsSplitAtCommasAndRepeat) {
  const Json options = parse(example_cli(), {"--image", "a.png,b.png", "--image", "c.png"});
  EXPECT_EQ(options["image"], Json::array({"a.png", "b.png", "c.png"}));
}

TEST(Cli, BadInputIsAUsageErrorNamingTheProblem) {
  const Cli cli = example_cli();
  EXPECT_EQ(exit_code_of([&] { parse(cli, {"--no-such-flag"}); }), 2);
  EXPECT_EQ(exit_code_of([&] { parse(cli, {"--batch-size", "many"}); }), 2);
  EXPECT_EQ(exit_code_of([&] { parse(cli, {"stray"}); }), 2);
  zoo::test::TempDir dir;
  zoo::test::write_bytes(dir.file("bad.json"), R"({"batch_size": "eight"})");
  try {
    parse(cli, {"--config", dir.file("bad.json")});
    FAIL() << "a string for an integer option was accepted";
  } catch (const zoo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos) << e.what();
  }
  zoo::test::write_bytes(dir.file("unknown.json"), R"({"colour": 1})");
  EXPECT_EQ(exit_code_of([&] { parse(cli, {"--config", dir.file("unknown.json")}); }), 2);
  zoo::test::write_bytes(dir.file("broken.json"), R"({"lr": )");
  EXPECT_EQ(exit_code_of([&] { parse(cli, {"--config", dir.file("broken.json")}); }), 2);
  EXPECT_EQ(exit_code_of([&] { parse(cli, {"--config", dir.file("missing.json")}); }), 2);
}

TEST(Cli, RequiredOptionMustBeGiven) {
  Cli cli("example", "test");
  cli.required("out", "run dir");
  EXPECT_EQ(exit_code_of([&] { parse(cli, {}); }), 2);
  EXPECT_EQ(parse(cli, {"--out", "x"})["out"], "x");
}

TEST(Cli, HelpListsOptionsWithDefaults) {
  const std::string help = example_cli().help();
  EXPECT_NE(help.find("--batch-size"), std::string::npos);
  EXPECT_NE(help.find("64"), std::string::npos);
  EXPECT_THROW(parse(example_cli(), {"--help"}), zoo::HelpRequested);
}

TEST(Cli, RunMainTurnsErrorsIntoExitCodes) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(zoo::run_main([]() -> int { throw zoo::Error("bad file x\nsecond line"); }), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "error: bad file x\n");
  testing::internal::CaptureStderr();
  EXPECT_EQ(zoo::run_main([]() -> int { throw zoo::Error("disk", zoo::ErrorKind::runtime); }), 1);
  EXPECT_EQ(zoo::run_main([]() -> int { return torch::ones({2}).matmul(torch::ones({3})).item<int>(); }), 1);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.rfind("error: disk\nerror: ", 0), 0u) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 2) << "a c10 error must print one line, got: " << err;
  EXPECT_EQ(zoo::run_main([] { return 0; }), 0);
}

TEST(Cli, OneLetterOptionsTakeTheLongForms) {
  Cli cli("example", "test program");
  cli.integer("n", "count", 1).integer("steps", "steps", 2);
  EXPECT_EQ(parse(cli, {"--n", "5"})["n"], 5);
  EXPECT_EQ(parse(cli, {"--n=6"})["n"], 6);
  EXPECT_EQ(parse(cli, {"-n", "7", "--steps", "3"})["steps"], 3);
  EXPECT_EQ(exit_code_of([&] { parse(cli, {"--n", "x"}); }), 2);
}
