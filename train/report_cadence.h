#pragma once
// When train_main makes a periodic report (samples, scores): every `every` epochs, or, given
// a budget, whenever it keeps the reports' share of the run's time within that budget.
#include <chrono>
#include <cstdint>
#include <functional>

namespace zoo::train {

struct ReportCadenceOptions {
  int64_t every = 1;  // epochs between reports, when there is no budget
  // The largest fraction of the training time reports may take (0: none; use `every`). A
  // report is made at an epoch's end when the time reports have taken, plus the last one's
  // cost as the next one's, stays within budget·(training time so far). The first report's
  // cost is unknown before it: it is taken as `first_guess` seconds.
  double budget = 0;
  double first_guess = 6;
};

class ReportCadence {
 public:
  using Clock = std::function<double()>;  // seconds
  ReportCadence(ReportCadenceOptions options, int64_t per_epoch, int64_t total, Clock clock = steady_seconds);

  bool due(int64_t step) const;  // the last step is always due
  // Around each report, so that its time counts as reporting, not training.
  void report_started();
  void report_finished();

  double reporting_seconds() const { return reported_; }
  double training_seconds() const { return clock_() - start_ - reported_ - (in_report_ ? clock_() - began_ : 0); }

  static double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

 private:
  ReportCadenceOptions options_;
  int64_t per_epoch_, total_;
  Clock clock_;
  double start_, reported_ = 0, last_ = -1, began_ = 0;
  bool in_report_ = false;
};

}  // namespace zoo::train
