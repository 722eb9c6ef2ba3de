// Typed options (core/options.h): each field bound once to its flag, filled from the layered
// resolution, choices refused wherever the value comes from, and a resumed training run
// rebuilt from its saved config.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/options.h"
#include "support/test_support.h"

using zoo::Bounds;
using zoo::Flags;
using zoo::Json;

namespace {

struct ExampleOptions : zoo::TrainingOptions {
  ExampleOptions() {
    data = "toy:moons";
    model = "glow";
    batch_size = 32;
  }
  std::string loss = "ce";
  double momentum = 0.9;
  std::vector<std::string> set;
  bool verbose = false;
  c10::optional<double> eta;  // unset: the program's own choice
};

Flags<ExampleOptions> example_flags() {
  using O = ExampleOptions;
  Flags<O> flags("example", "test program");
  flags.common()
      .training()
      .choice("loss", "loss", &O::loss, {"ce", "soft_f1"})
      .real("momentum", "momentum", &O::momentum, Bounds::between(0, 1))
      .texts("set", "overrides", &O::set)
      .flag("verbose", "talk", &O::verbose)
      .real("eta", "noise", &O::eta, Bounds::at_least(0));
  return flags;
}

ExampleOptions parse(const std::vector<std::string>& args) {
  std::vector<const char*> argv{"example"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return example_flags().parse(static_cast<int>(argv.size()), argv.data());
}

std::string error_of(const std::vector<std::string>& args) {
  try {
    parse(args);
  } catch (const zoo::Error& e) {
    EXPECT_EQ(e.exit_code(), 2) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

}  // namespace

TEST(Options, FieldsKeepTheStructsDefaultsAndTakeTheFlags) {
  const ExampleOptions d = parse({"--out", "run"});
  EXPECT_EQ(d.data, "toy:moons");
  EXPECT_EQ(d.model, "glow");
  EXPECT_EQ(d.batch_size, 32);
  EXPECT_EQ(d.loss, "ce");
  EXPECT_DOUBLE_EQ(d.momentum, 0.9);
  EXPECT_FALSE(d.verbose);
  EXPECT_FALSE(d.eta.has_value());
  EXPECT_EQ(d.out, "run");
  EXPECT_EQ(d.resolved["batch_size"], 32);  // what config.json would hold

  const ExampleOptions o = parse({"--out", "run", "--batch-size", "8", "--loss", "soft_f1", "--momentum", "0.5",
                                  "--set", "a=1,b=2", "--verbose", "--seed", "7", "--model", "nice"});
  EXPECT_EQ(o.batch_size, 8);
  EXPECT_EQ(o.loss, "soft_f1");
  EXPECT_DOUBLE_EQ(o.momentum, 0.5);
  EXPECT_EQ(o.set, (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_TRUE(o.verbose);
  EXPECT_EQ(o.seed, 7);
  EXPECT_EQ(o.model, "nice");
  EXPECT_FALSE(o.eta.has_value());
  EXPECT_DOUBLE_EQ(parse({"--out", "run", "--eta", "0"}).eta.value(), 0.0);
  EXPECT_NE(error_of({"--out", "run", "--eta", "-1"}).find("--eta -1: must be at least 0"), std::string::npos);
  EXPECT_EQ(o.resolved["loss"], "soft_f1");
}

TEST(Options, AChoiceOutsideItsListIsRefusedFromAFlagOrAFile) {
  EXPECT_EQ(error_of({"--out", "run", "--loss", "hinge"}), "--loss hinge: expected ce or soft_f1");
  zoo::test::TempDir dir;
  zoo::test::write_bytes(dir.file("c.json"), R"({"loss": "hinge"})");
  EXPECT_EQ(error_of({"--out", "run", "--config", dir.file("c.json")}), "--loss hinge: expected ce or soft_f1");
  EXPECT_NE(error_of({"--out", "run", "--precision", "fp16"}).find("expected auto, fp32 or bf16"), std::string::npos);
  EXPECT_NE(error_of({"--out", "run", "--momentum", "2"}).find("--momentum 2: must be at most 1"), std::string::npos);
  EXPECT_NE(error_of({}).find("--out"), std::string::npos);
  EXPECT_NE(error_of({"--out", "run", "--seed", "-1"}).find("--seed -1: must be at least 0"), std::string::npos);
}

TEST(Options, HelpEndsAChoiceWithItsValues) {
  const std::string help = example_flags().help();
  EXPECT_NE(help.find("loss (ce or soft_f1)"), std::string::npos) << help;
  EXPECT_NE(help.find("--batch-size"), std::string::npos);
}

TEST(Options, AResumedRunTakesItsSavedConfigUnderTheFlagsGivenNow) {
  zoo::test::TempDir dir;
  const std::string run = dir.file("run");
  const ExampleOptions first = parse({"--out", run, "--batch-size", "8", "--loss", "soft_f1", "--steps", "10"});
  zoo::RunDir::create(run, first.resolved).start();
  const ExampleOptions resumed = parse({"--out", run, "--resume", "--steps", "20"});
  EXPECT_TRUE(resumed.resume);
  EXPECT_EQ(resumed.batch_size, 8);    // saved
  EXPECT_EQ(resumed.loss, "soft_f1");  // saved
  EXPECT_EQ(resumed.steps, 20);        // given now
  EXPECT_EQ(resumed.resolved["steps"], 20);
}
