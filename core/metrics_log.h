#pragma once
// metrics.jsonl: one JSON object a line, flushed as it is written so that a crash loses
// at most the line being written.
#include <fstream>
#include <string>
#include <vector>

#include "core/json.h"

namespace zoo {

class MetricsLog {
 public:
  // On resume from `resume_step`, records with a later "step" (written after that
  // checkpoint, by the run that was interrupted) are dropped first, so the log reads as
  // one uninterrupted run.
  explicit MetricsLog(const std::string& path, int64_t resume_step = -1);
  void write(const Json& record);

 private:
  std::string path_;
  std::ofstream out_;
};

// Every record of a metrics.jsonl file; a malformed line is an error naming its number,
// except a last line cut short (no newline): a writer killed mid-line, whose record is lost.
std::vector<Json> read_metrics(const std::string& path);

}  // namespace zoo
