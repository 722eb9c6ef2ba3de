#include <gtest/gtest.h>

#include "core/catalogue.h"
#include "models/diffusion/samplers.h"
#include "models/diffusion/schedule.h"
#include "support/test_support.h"

using zoo::Catalogue;

TEST(Catalogue, FindsByNameAndNamesEveryEntryWhenItCannot) {
  const Catalogue<int> numbers("number", {{"one", 1}, {"two", 2}, {"three", 3}});
  EXPECT_EQ(numbers.find("two"), 2);
  EXPECT_EQ(numbers.find("three"), 3);
  EXPECT_EQ(numbers.names(), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(numbers.names_text(), "one, two or three");
  EXPECT_TRUE(zoo::test::throws_error_with([&] { numbers.find("four"); },
                                           {"unknown number 'four' (expected one, two or three)"}));
  try {
    numbers.find("four");
  } catch (const zoo::Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
  }
  EXPECT_EQ(Catalogue<int>("x", {{"only", 0}}).names_text(), "only");
}

// The samplers and schedules the executables offer are the catalogues' entries, each
// reachable by its name.
TEST(Catalogue, SamplersAndSchedulesAreFoundByEveryListedName) {
  for (const std::string& name : zoo::diffusion::samplers().names())
    EXPECT_TRUE(static_cast<bool>(zoo::diffusion::find_sampler(name))) << name;
  EXPECT_EQ(zoo::diffusion::samplers().names().size(), 18u);
  for (const std::string& name : zoo::diffusion::schedules().names()) {
    zoo::diffusion::ScheduleOptions options;
    options.name = name;
    options.steps = 4;
    const torch::Tensor sigmas = zoo::diffusion::make_sigmas(options);
    EXPECT_EQ(sigmas.size(0), 5) << name;
    EXPECT_EQ(sigmas[4].item<double>(), 0) << name;
    EXPECT_TRUE((sigmas.slice(0, 0, 4) > 0).all().item<bool>()) << name;
  }
}
