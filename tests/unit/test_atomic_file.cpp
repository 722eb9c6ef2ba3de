#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace {
size_t files_in(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
}
}  // namespace

TEST(AtomicFile, WritesAndReplaces) {
  zoo::test::TempDir dir;
  const std::string path = dir.file("sub/x.bin");
  zoo::write_file_atomic(path, std::string("first"));
  EXPECT_EQ(zoo::read_file(path), "first");
  zoo::write_file_atomic(path, std::string("second, longer"));
  EXPECT_EQ(zoo::read_file(path), "second, longer");
  EXPECT_EQ(files_in(dir.file("sub")), 1u);
}

TEST(AtomicFile, FailedWriteLeavesThePreviousFileAndNoTemporary) {
  zoo::test::TempDir dir;
  const std::string path = dir.file("checkpoint");
  zoo::write_file_atomic(path, std::string("good"));
  EXPECT_THROW(zoo::write_file_atomic(path,
                                      [](std::ostream& out) {
                                        out << "half of a new chec";
                                        throw std::runtime_error("crash mid-write");
                                      }),
               std::runtime_error);
  EXPECT_EQ(zoo::read_file(path), "good");
  EXPECT_EQ(files_in(dir.path()), 1u);
}

TEST(AtomicFile, KilledWriterLeavesThePreviousFile) {
  zoo::test::TempDir dir;
  const std::string path = dir.file("checkpoint");
  zoo::write_file_atomic(path, std::string("good"));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Writes forever; the parent kills it part way through.
    zoo::write_file_atomic(path, [](std::ostream& out) {
      for (;;) {
        out << std::string(1 << 16, 'x') << std::flush;
        ::usleep(1000);
      }
    });
    ::_exit(0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(zoo::read_file(path), "good");
}

TEST(AtomicFile, ReadingAMissingFileNamesIt) {
  try {
    zoo::read_file("/nonexistent/zoo/file");
    FAIL();
  } catch (const zoo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/zoo/file"), std::string::npos);
  }
}
