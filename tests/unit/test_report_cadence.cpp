// When periodic reports are due, on a simulated clock.
#include <gtest/gtest.h>

#include "train/report_cadence.h"

using zoo::train::ReportCadence;
using zoo::train::ReportCadenceOptions;

TEST(ReportCadence, EveryNEpochsAndAlwaysAtTheEnd) {
  ReportCadenceOptions options;
  options.every = 3;
  const ReportCadence cadence(options, 10, 95, [] { return 0.0; });
  EXPECT_FALSE(cadence.due(10));
  EXPECT_FALSE(cadence.due(20));
  EXPECT_TRUE(cadence.due(30));
  EXPECT_TRUE(cadence.due(60));
  EXPECT_TRUE(cadence.due(95));
}

// With a budget, reports of any cost take at most that share of the training time, once the
// first report's guess is past: a run of 200 one-second epochs whose reports cost 3 s (half
// the default guess, so the first one waits long enough) or 30 s (five times the guess).
TEST(ReportCadence, ABudgetBoundsTheShareOfTimeReportsTake) {
  for (const double cost : {3.0, 30.0}) {
    double now = 0;
    ReportCadenceOptions options;
    options.budget = 0.1;
    const int64_t epochs = 200;
    ReportCadence cadence(options, 1, epochs, [&] { return now; });
    int64_t reports = 0;
    double worst_share = 0;
    for (int64_t step = 1; step <= epochs; ++step) {
      now += 1;  // an epoch of training
      if (!cadence.due(step)) continue;
      cadence.report_started();
      now += cost;
      cadence.report_finished();
      ++reports;
      if (step < epochs) {
        // Every periodic report keeps the share within the budget, except a first that cost more than the guess.
        const double share = cadence.reporting_seconds() / cadence.training_seconds();
        if (reports > 1 || cost <= options.first_guess) worst_share = std::max(worst_share, share);
      }
    }
    EXPECT_NEAR(cadence.training_seconds(), epochs, 1e-9) << cost;
    EXPECT_LE(worst_share, 0.1 + 1e-12) << cost;
    // As often as the budget allows: the reports' time within one report of the budget.
    EXPECT_GE(cadence.reporting_seconds(), 0.1 * epochs - 2 * cost) << cost;
  }
}
