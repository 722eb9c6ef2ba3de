#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/error.h"

namespace zoo {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTempMark = ".tmp.";  // then the writer's process id

std::string temp_path_for(const std::string& path) {
  return path + std::string(kTempMark) + std::to_string(::getpid());
}

void fsync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;  // best effort: some file systems refuse to open directories
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer) {
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string temp = temp_path_for(path);
  try {
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      if (!out) throw Error("cannot write " + temp + ": " + std::strerror(errno), ErrorKind::runtime);
      writer(out);
      out.flush();
      if (!out) throw Error("writing " + temp + " failed (disk full?)", ErrorKind::runtime);
    }
    fsync_path(temp, O_RDONLY);
    if (std::rename(temp.c_str(), path.c_str()) != 0)
      throw Error("cannot rename " + temp + " to " + path + ": " + std::strerror(errno), ErrorKind::runtime);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
  fsync_path(target.has_parent_path() ? target.parent_path().string() : ".", O_RDONLY | O_DIRECTORY);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  write_file_atomic(path,
                    [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

bool is_temporary_file_name(const std::string& name) {
  const size_t mark = name.rfind(kTempMark);
  if (mark == std::string::npos || mark + kTempMark.size() == name.size()) return false;
  return name.find_first_not_of("0123456789", mark + kTempMark.size()) == std::string::npos;
}

void remove_stale_temporaries(const std::string& dir) {
  std::error_code error;
  std::vector<fs::path> stale;
  // Symlinks are not followed: only what a writer of this run could have left.
  for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
    if (it->is_regular_file(error) && is_temporary_file_name(it->path().filename().string()))
      stale.push_back(it->path());
  for (const fs::path& file : stale) fs::remove(file, error);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error("cannot read " + path + ": " + std::strerror(errno));
  std::string bytes(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw Error("reading " + path + " failed");
  return bytes;
}

}  // namespace zoo
