#include "train/report_cadence.h"

#include <utility>

namespace zoo::train {

ReportCadence::ReportCadence(ReportCadenceOptions options, int64_t per_epoch, int64_t total, Clock clock)
    : options_(options), per_epoch_(per_epoch), total_(total), clock_(std::move(clock)), start_(clock_()) {}

bool ReportCadence::due(int64_t step) const {
  if (step == total_) return true;
  if (options_.budget <= 0) return (step / per_epoch_) % options_.every == 0;
  const double next_cost = last_ < 0 ? options_.first_guess : last_;
  return reported_ + next_cost <= options_.budget * training_seconds();
}

void ReportCadence::report_started() {
  began_ = clock_();
  in_report_ = true;
}

void ReportCadence::report_finished() {
  last_ = clock_() - began_;
  reported_ += last_;
  in_report_ = false;
}

}  // namespace zoo::train
