// An LD_PRELOAD shim that kills its process (SIGKILL, as the OOM killer or a power cut
// would stop it) at the N-th file operation that commits something to disk: rename, unlink
// or remove, counted only for paths containing ZOO_KILL_UNDER. Tests run a program with
// ZOO_KILL_AT=1, 2, ... to stop it before each such operation in turn and check what
// it left behind; a program that outlives N has fewer operations than N.
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace {

long kill_at() {
  static const long at = [] {
    const char* value = std::getenv("ZOO_KILL_AT");
    return value ? std::atol(value) : 0L;
  }();
  return at;
}

// Counts the operation and, at the chosen one, kills the process before it happens.
void count(const char* path) {
  static long seen = 0;
  const char* under = std::getenv("ZOO_KILL_UNDER");
  if (kill_at() <= 0 || !path || (under && !std::strstr(path, under))) return;
  if (++seen == kill_at()) ::kill(::getpid(), SIGKILL);
}

template <typename Function>
Function next(const char* name) {
  return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int rename(const char* from, const char* to) {
  count(to);
  static const auto real = next<int (*)(const char*, const char*)>("rename");
  return real(from, to);
}

int unlink(const char* path) {
  count(path);
  static const auto real = next<int (*)(const char*)>("unlink");
  return real(path);
}

int remove(const char* path) {
  count(path);
  static const auto real = next<int (*)(const char*)>("remove");
  return real(path);
}

}  // extern "C"
