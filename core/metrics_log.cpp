#include "core/metrics_log.h"

#include <filesystem>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace zoo {

std::vector<Json> read_metrics(const std::string& path) {
  const std::string text = read_file(path);
  std::istringstream in(text);
  const bool torn_tail = !text.empty() && text.back() != '\n';
  std::vector<Json> records;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      records.push_back(Json::parse(line));
    } catch (const Json::parse_error&) {
      if (torn_tail && in.eof()) break;
      throw Error(path + ": line " + std::to_string(number) + " is not valid JSON");
    }
  }
  return records;
}

MetricsLog::MetricsLog(const std::string& path, int64_t resume_step) : path_(path) {
  if (resume_step >= 0 && std::filesystem::exists(path)) {
    std::string kept;
    for (const Json& record : read_metrics(path))
      if (!record.contains("step") || record["step"].get<int64_t>() <= resume_step) kept += record.dump() + "\n";
    write_file_atomic(path, kept);
  }
  out_.open(path, std::ios::app);
  if (!out_) throw Error("cannot open " + path + " for writing", ErrorKind::runtime);
}

void MetricsLog::write(const Json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
}

}  // namespace zoo
