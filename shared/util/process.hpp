#pragma once
// Starting, watching and stopping processes without a shell: arguments go to execve as they
// are, so no value (a label, a path) is ever interpreted by a shell.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shared/util/result.hpp"

namespace phoenix::util {

// A process as the kernel knows it. The start time tells a live process from a later one that
// reused the pid.
struct ProcessIdentity {
  pid_t pid = 0;
  std::uint64_t start_ticks = 0;
};

struct SpawnRequest {
  std::vector<std::string> argv;
  std::filesystem::path working_directory;  // empty: the current one
  std::filesystem::path output_file;        // stdout and stderr are appended here; empty: /dev/null
  // NAME=value entries, the whole environment of the process; nothing: this one's, inherited.
  std::optional<std::vector<std::string>> environment;
};

// Starts a long-running process in its own session, so that it outlives this program and the
// CI job's process group. The caller owns stopping it.
Result<ProcessIdentity> spawn_detached(const SpawnRequest& request);

std::optional<std::uint64_t> process_start_ticks(pid_t pid);

// True when the process exists, is the same one (start time), and is not a zombie.
bool is_running(const ProcessIdentity& process);

// SIGTERM to the process group, then SIGKILL after `grace`. Returns once the process is gone.
void stop_process(const ProcessIdentity& process, std::chrono::milliseconds grace);

struct CommandRequest {
  std::vector<std::string> argv;
  std::string input;  // written to stdin, then stdin is closed
  std::chrono::milliseconds timeout{60000};
  std::filesystem::path working_directory;  // empty: the current one
  std::vector<std::string> environment;     // extra NAME=value entries, override inherited ones
  bool inherit_environment = true;          // false: only `environment` (plus PATH)
  bool capture_stderr = false;              // false: stderr passes through to ours
  std::filesystem::path stderr_file;        // when set (and not capturing), stderr goes here
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string output;  // stdout (and stderr when captured)
};

// Runs a command to completion. A command that cannot start is `unavailable`; one that
// outlives its timeout is killed (with its process group) and reported as `timeout`.
Result<CommandResult> run_command(const CommandRequest& request);

}  // namespace phoenix::util
