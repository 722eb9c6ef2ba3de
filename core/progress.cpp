#include "core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace zoo {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buffer[32];
  if (s < 60)
    std::snprintf(buffer, sizeof buffer, "%llds", static_cast<long long>(s));
  else if (s < 3600)
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  return buffer;
}

Progress::Progress(std::string label, int64_t total, int64_t start)
    : label_(std::move(label)),
      total_(total),
      start_(start),
      terminal_(::isatty(STDERR_FILENO) == 1),
      started_(std::chrono::steady_clock::now()),
      last_print_(started_) {}

void Progress::update(int64_t done, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  // A terminal redraws often; a log gets a line every tenth of the work or every 30 s.
  const bool due =
      terminal_
          ? since > 0.1
          : (total_ > 0 && (done * 10 / total_) != (last_printed_ * 10 / std::max<int64_t>(total_, 1))) || since > 30;
  if (due) print(done, status, false);
}

void Progress::finish(const std::string& status) { print(total_, status, true); }

void Progress::print(int64_t done, const std::string& status, bool final) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done - start_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : NAN;
  const double fraction = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  char stats[128];
  std::snprintf(stats, sizeof stats, "%lld/%lld %.1f/s %s %s", static_cast<long long>(done),
                static_cast<long long>(total_), rate, final ? "in" : "eta",
                format_duration(final ? elapsed : eta).c_str());
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %s %s%s", label_.c_str(), bar.c_str(), stats, status.c_str(),
                 final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s %3.0f%% %s %s\n", label_.c_str(), 100.0 * fraction, stats, status.c_str());
  }
  std::fflush(stderr);
  last_print_ = now;
  last_printed_ = done;
}

}  // namespace zoo
