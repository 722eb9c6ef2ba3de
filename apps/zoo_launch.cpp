// zoo_launch: starts the worker processes of a data-parallel run on this machine, the way
// torchrun does: each gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and
// MASTER_PORT in its environment, and the training executables join c10d's process group
// from them (core/distributed.h).
//
//   zoo_launch --nproc 2 -- train_diffusion --data toy:moons --out runs/x
//   zoo_launch --nproc 4 --nnodes 2 --node-rank 0 --master 10.0.0.1:29500 -- train_classifier ...
//
// SIGINT and SIGTERM are forwarded to every worker. When a worker fails, the others are
// stopped (SIGTERM, then SIGKILL after --grace seconds) and zoo_launch exits with the
// failed worker's status (128 + signal for a killed one).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/options.h"

using namespace zoo;

namespace {

std::vector<pid_t> workers;
volatile sig_atomic_t forwarded_signal = 0;

void forward(int signal) {
  forwarded_signal = signal;
  for (pid_t pid : workers)
    if (pid > 0) kill(pid, signal);
}

// A port the kernel says is free now, for a single-machine run without --master.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    throw Error(std::string("cannot find a free port: ") + std::strerror(errno), ErrorKind::runtime);
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

// A bare name is looked up beside zoo_launch first (the other zoo executables), then on PATH.
std::string resolve(const std::string& program, const char* self) {
  if (program.find('/') != std::string::npos) return program;
  const std::filesystem::path beside = std::filesystem::path(self).parent_path() / program;
  return std::filesystem::exists(beside) ? beside.string() : program;
}

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

struct LaunchOptions {
  int64_t nproc = 1, nnodes = 1, node_rank = 0;
  std::string master;  // empty: 127.0.0.1 and a free port
  double grace = 10;
};

Flags<LaunchOptions> flags() {
  using O = LaunchOptions;
  Flags<O> flags("zoo_launch",
                 "Start the worker processes of a data-parallel run: zoo_launch [options] -- EXECUTABLE ARGS...");
  flags.integer("nproc", "worker processes on this machine", &O::nproc, Bounds::at_least(1))
      .integer("nnodes", "machines in the run", &O::nnodes, Bounds::at_least(1))
      .integer("node-rank", "this machine's index, 0 .. nnodes − 1", &O::node_rank, Bounds::at_least(0))
      .text("master", "ADDR:PORT of rank 0's rendezvous (default: 127.0.0.1 and a free port, single machine only)",
            &O::master)
      .real("grace", "seconds between SIGTERM and SIGKILL when stopping the workers", &O::grace, Bounds::at_least(0));
  return flags;
}

int run(int argc, char** argv) {
  int split = 1;
  while (split < argc && std::strcmp(argv[split], "--") != 0) ++split;
  const LaunchOptions o = flags().parse(split, argv);
  if (split + 1 >= argc) throw Error("no program to run: zoo_launch [options] -- EXECUTABLE ARGS...", ErrorKind::usage);
  const int64_t nproc = o.nproc, nnodes = o.nnodes, node_rank = o.node_rank;
  if (node_rank >= nnodes) throw Error("--node-rank must be below --nnodes", ErrorKind::usage);
  std::string address = "127.0.0.1", port;
  const std::string& master = o.master;
  if (master.empty()) {
    if (nnodes > 1) throw Error("--master ADDR:PORT is needed for more than one machine", ErrorKind::usage);
    port = std::to_string(free_port());
  } else {
    const size_t colon = master.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == master.size())
      throw Error("--master " + master + ": expected ADDR:PORT", ErrorKind::usage);
    address = master.substr(0, colon), port = master.substr(colon + 1);
  }
  const std::string program = resolve(argv[split + 1], argv[0]);
  const int64_t world = nproc * nnodes;

  struct sigaction action {};
  action.sa_handler = forward;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  for (int64_t local = 0; local < nproc; ++local) {
    const pid_t pid = fork();
    if (pid < 0) throw Error(std::string("fork failed: ") + std::strerror(errno), ErrorKind::runtime);
    if (pid == 0) {
      setenv("RANK", std::to_string(node_rank * nproc + local).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("MASTER_ADDR", address.c_str(), 1);
      setenv("MASTER_PORT", port.c_str(), 1);
      execvp(program.c_str(), argv + split + 1);
      std::fprintf(stderr, "error: cannot run %s: %s\n", program.c_str(), std::strerror(errno));
      _exit(127);
    }
    workers.push_back(pid);
  }

  int failure = 0;
  size_t running = workers.size();
  auto stop_deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (pid_t& w : workers)
        if (w == pid) w = -1, --running;
      const int code = status_code(status);
      if (code != 0 && failure == 0) {
        failure = code;
        std::fprintf(stderr, "zoo_launch: a worker exited with status %d; stopping the others\n", code);
        forward(SIGTERM);
        stop_deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o.grace * 1000));
      }
    } else if (pid < 0 && errno != EINTR) {
      break;
    } else {
      if (std::chrono::steady_clock::now() > stop_deadline)
        forward(SIGKILL), stop_deadline = std::chrono::steady_clock::time_point::max();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  if (failure == 0 && forwarded_signal != 0) failure = 128 + forwarded_signal;
  return failure;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] { return run(argc, argv); });
}
