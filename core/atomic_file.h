#pragma once
// Files a run depends on (checkpoints, configs, images) are written atomically: into a
// temporary file beside the target, flushed to disk, then renamed over it. A crash or an
// exception mid-write leaves the previous file untouched and no temporary behind.
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>

namespace zoo {

void write_file_atomic(const std::string& path, std::string_view bytes);
// The writer streams into the temporary file; if it throws, the target is not touched.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& writer);

// Whether a file name is one of a writer's temporary files (NAME.tmp.PID).
bool is_temporary_file_name(const std::string& name);
// Removes the temporary files that writers killed mid-write left anywhere under `dir`.
void remove_stale_temporaries(const std::string& dir);

// Whole-file read with a zoo::Error naming the file when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace zoo
