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
  // k-diffusion's set and the multistep solvers users ask for by name.
  for (const std::string name : {"euler",
                                 "euler_ancestral",
                                 "heun",
                                 "dpm_2",
                                 "dpm_2_ancestral",
                                 "lms",
                                 "dpm_fast",
                                 "dpm_adaptive",
                                 "dpmpp_2s_ancestral",
                                 "dpmpp_sde",
                                 "dpmpp_2m",
                                 "dpmpp_2m_sde",
                                 "dpmpp_2m_sde_heun",
                                 "dpmpp_3m_sde",
                                 "ipndm",
                                 "ipndm_v",
                                 "deis",
                                 "unipc",
                                 "res_multistep",
                                 "lcm",
                                 "euler_cfg_pp",
                                 "euler_ancestral_cfg_pp",
                                 "ddim",
                                 "edm",
                                 "rk45"})
    EXPECT_TRUE(zoo::diffusion::samplers().contains(name)) << name;
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
