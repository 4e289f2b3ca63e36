#pragma once
// Starting, watching and stopping processes without a shell: arguments go to execve as they
// are, so no value (a label, a path) is ever interpreted by a shell.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "shared/util/result.hpp"
#include "shared/util/unique_fd.hpp"

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

// A detached process (as spawn_detached starts one) created in two steps, so that its caller
// can record it before it runs anything: spawn() creates the process, whose pid and start time
// are then known, and holds it before exec; release() lets it run the command. A process that
// is not released (its owner dropped it, or died: SIGKILL, SIGTERM) exits without running
// anything, because its end of a socket pair closes. So nothing runs that the caller did not
// get the chance to record.
class GatedProcess {
 public:
  // Errors: `unavailable` when the program cannot be found or the process cannot be created.
  static Result<GatedProcess> spawn(const SpawnRequest& request);
  GatedProcess(GatedProcess&&) noexcept = default;
  GatedProcess& operator=(GatedProcess&&) = delete;
  GatedProcess(const GatedProcess&) = delete;
  GatedProcess& operator=(const GatedProcess&) = delete;
  ~GatedProcess();

  const ProcessIdentity& identity() const { return identity_; }
  // Lets the process run its command; waits (briefly) until it did. `unavailable` when exec
  // failed (the process has exited then). Once only.
  Status release();

 private:
  GatedProcess(ProcessIdentity identity, UniqueFd gate, UniqueFd exec_status, std::string program)
      : identity_(identity),
        gate_(std::move(gate)),
        exec_status_(std::move(exec_status)),
        program_(std::move(program)) {}
  void abandon();

  ProcessIdentity identity_;
  UniqueFd gate_;         // one byte releases the process; closing it makes the process exit
  UniqueFd exec_status_;  // end of file once exec succeeded, the errno when it failed
  std::string program_;
};

std::optional<std::uint64_t> process_start_ticks(pid_t pid);

// The process's command name (/proc/<pid>/comm: "flock", "deploy-pipeline"), or nothing when it
// cannot be read (the process is gone).
std::optional<std::string> process_name(pid_t pid);

// True when the process exists, is the same one (start time), and is not a zombie.
bool is_running(const ProcessIdentity& process);

// True when the process runs (is_running) but is stopped (SIGSTOP, Ctrl-Z; /proc state T, or t
// under a debugger): it does nothing until SIGCONT, and a SIGTERM sent meanwhile waits with it.
bool is_stopped(const ProcessIdentity& process);

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
  // Output beyond this many bytes is read (so the command is never blocked on a full pipe)
  // and dropped; `output_truncated` says so. Bounds the memory a chatty command can take.
  std::size_t max_output = 64 * 1024 * 1024;
  // Asked at least every 100 ms while the command runs: the signal that asked this program to
  // stop (SIGINT, SIGTERM, SIGHUP; util::interrupt_signal), or 0. The command runs in its own
  // process group, out of reach of a terminal's Ctrl-C and of a CI agent's signal to ours, so
  // the signal is passed on to that group once; the command then has `stop_grace` to end
  // before the group is killed (SIGKILL). Nothing: the command runs to its end or its timeout.
  std::function<int()> stop_signal;
  std::chrono::milliseconds stop_grace{10000};
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string output;  // stdout (and stderr when captured), at most max_output bytes
  bool output_truncated = false;
  int passed_on_signal = 0;         // the stop signal passed on to the command, or 0
  bool killed_after_grace = false;  // it did not end within stop_grace and was killed
};

// Runs a command to completion. A command that cannot start is `unavailable`; one that
// outlives its timeout is killed (with its process group) and reported as `timeout`. One that
// was passed a stop signal (CommandRequest::stop_signal) is reported as it ended, with
// `passed_on_signal` set.
Result<CommandResult> run_command(const CommandRequest& request);

}  // namespace phoenix::util
