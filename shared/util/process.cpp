#include "shared/util/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "shared/util/strings.hpp"
#include "shared/util/unique_fd.hpp"

extern char** environ;

namespace phoenix::util {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::vector<char*> make_argv(const std::vector<std::string>& arguments) {
  std::vector<char*> argv;
  argv.reserve(arguments.size() + 1);
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  return argv;
}

// The inherited environment with `overrides` (NAME=value) replacing same-named entries.
std::vector<std::string> merged_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> entries;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto name = text.substr(0, text.find('='));
    bool overridden = false;
    for (const auto& override_entry : overrides) {
      if (override_entry.substr(0, override_entry.find('=')) == name) overridden = true;
    }
    if (!overridden) entries.emplace_back(text);
  }
  entries.insert(entries.end(), overrides.begin(), overrides.end());
  return entries;
}

class SpawnAttributes {
 public:
  explicit SpawnAttributes(short flags) {
    posix_spawnattr_init(&attributes_);
    posix_spawnattr_setflags(&attributes_, flags);
    posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnAttributes() {
    posix_spawnattr_destroy(&attributes_);
    posix_spawn_file_actions_destroy(&actions_);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* attributes() { return &attributes_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attributes_{};
  posix_spawn_file_actions_t actions_{};
};

Error spawn_error(const std::vector<std::string>& argv, int error_number) {
  return {ErrorKind::unavailable,
          "cannot start " + shell_quote(argv.empty() ? "" : argv[0]) + ": " + std::strerror(error_number)};
}

// Default signal dispositions and an empty mask for the child, whatever this process set.
void reset_signals(posix_spawnattr_t* attributes) {
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(attributes, &all);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(attributes, &none);
}

// A pipe whose ends close themselves; `read_end` and `write_end` are O_CLOEXEC.
struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

Result<Pipe> make_pipe(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return spawn_error(argv, errno);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void reap_if_child(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, WNOHANG);
}

// Reaps a child that is about to exit, waiting at most `limit` for it.
void reap_exiting_child(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = SteadyClock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// `fd` moved to a number above 2 (a closed stdin could have handed out 0), close-on-exec.
UniqueFd above_standard_streams(UniqueFd fd) {
  if (!fd || fd.get() > 2) return fd;
  return UniqueFd(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
}

// The program `name` names: itself when it holds a '/', else the first executable of that
// name on PATH (looked up before fork: the child may only make async-signal-safe calls).
std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  for (const auto& directory : split(path != nullptr && *path != '\0' ? path : "/usr/bin:/bin", ':')) {
    const std::string candidate = (directory.empty() ? "." : directory) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// What the held child needs, prepared before fork.
struct ChildPlan {
  const char* program = nullptr;
  char* const* argv = nullptr;
  char* const* environment = nullptr;
  const char* directory = nullptr;  // nullptr: stay
  const char* output = nullptr;
  int gate = -1;
  int exec_status = -1;
};

void close_descriptors_except(int keep_low, int keep_high) {
  // close_range() exists since Linux 5.9; before that, closing one by one is the way.
  const auto close_between = [](unsigned first, unsigned last) {
    if (first > last) return;
    if (::close_range(first, last, 0) == 0) return;
    for (unsigned fd = first; fd <= last && fd < 65536; ++fd) ::close(static_cast<int>(fd));
  };
  close_between(3, static_cast<unsigned>(keep_low) - 1);
  close_between(static_cast<unsigned>(keep_low) + 1, static_cast<unsigned>(keep_high) - 1);
  close_between(static_cast<unsigned>(keep_high) + 1, ~0U);
}

[[noreturn]] void child_failed(int exec_status, int error_number) {
  [[maybe_unused]] const auto written = ::write(exec_status, &error_number, sizeof error_number);
  ::_exit(127);
}

// The held child. A copy of a possibly multi-threaded process: only async-signal-safe calls.
[[noreturn]] void run_held_child(const ChildPlan& plan) {
  close_descriptors_except(std::min(plan.gate, plan.exec_status), std::max(plan.gate, plan.exec_status));
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; ++signal_number)
    ::sigaction(signal_number, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::setsid();  // its own session: it outlives the CI job's process group

  char go = 0;
  ssize_t n = 0;
  do {
    n = ::read(plan.gate, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) ::_exit(0);  // never released: run nothing
  ::close(plan.gate);

  if (plan.directory != nullptr && ::chdir(plan.directory) != 0) child_failed(plan.exec_status, errno);
  const int input = ::open("/dev/null", O_RDONLY);
  const int output = ::open(plan.output, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (input < 0 || output < 0) child_failed(plan.exec_status, errno);
  ::dup2(input, 0);
  ::dup2(output, 1);
  ::dup2(output, 2);
  if (input > 2) ::close(input);
  if (output > 2) ::close(output);
  ::execve(plan.program, plan.argv, plan.environment);
  child_failed(plan.exec_status, errno);
}

}  // namespace

Result<GatedProcess> GatedProcess::spawn(const SpawnRequest& request) {
  if (request.argv.empty()) return Error{ErrorKind::invalid, "empty command"};
  const auto program = find_program(request.argv[0]);
  if (!program) return spawn_error(request.argv, ENOENT);
  int gate_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate_pair) != 0) return spawn_error(request.argv, errno);
  UniqueFd gate(gate_pair[0]);
  UniqueFd held_end = above_standard_streams(UniqueFd(gate_pair[1]));
  auto status_pipe = make_pipe(request.argv);
  if (!status_pipe) return status_pipe.error();
  UniqueFd status_read = std::move(status_pipe->read_end);
  UniqueFd status_write = above_standard_streams(std::move(status_pipe->write_end));
  if (!held_end || !status_write) return spawn_error(request.argv, errno);

  auto argv = make_argv(request.argv);
  std::vector<char*> environment;
  if (request.environment) environment = make_argv(*request.environment);
  const std::string output = request.output_file.empty() ? "/dev/null" : request.output_file.string();
  const std::string directory = request.working_directory.string();
  ChildPlan plan;
  plan.program = program->c_str();
  plan.argv = argv.data();
  plan.environment = request.environment ? environment.data() : environ;
  plan.directory = directory.empty() ? nullptr : directory.c_str();
  plan.output = output.c_str();
  plan.gate = held_end.get();
  plan.exec_status = status_write.get();

  const pid_t pid = ::fork();
  if (pid < 0) return spawn_error(request.argv, errno);
  if (pid == 0) run_held_child(plan);
  held_end.reset();
  status_write.reset();
  ProcessIdentity identity{pid, process_start_ticks(pid).value_or(0)};
  return GatedProcess(identity, std::move(gate), std::move(status_read), *program);
}

Status GatedProcess::release() {
  if (!gate_) return Error{ErrorKind::invalid, "process " + std::to_string(identity_.pid) + " was released already"};
  const char go = 1;
  const bool sent = ::send(gate_.get(), &go, 1, MSG_NOSIGNAL) == 1;
  const int send_error = errno;
  gate_.reset();
  if (!sent) return spawn_error({program_}, send_error);
  // End of file when exec succeeded (close-on-exec), the errno when it did not.
  pollfd descriptor{exec_status_.get(), POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&descriptor, 1, 10000);
  } while (ready < 0 && errno == EINTR);
  int error_number = 0;
  const bool failed = ready > 0 && ::read(exec_status_.get(), &error_number, sizeof error_number) ==
                                       static_cast<ssize_t>(sizeof error_number);
  exec_status_.reset();
  if (failed) {
    reap_exiting_child(identity_.pid, std::chrono::milliseconds(1000));
    return spawn_error({program_}, error_number);
  }
  return {};
}

void GatedProcess::abandon() {
  if (!gate_) return;
  gate_.reset();  // the held process reads end of file and exits
  reap_exiting_child(identity_.pid, std::chrono::milliseconds(1000));
}

GatedProcess::~GatedProcess() { abandon(); }

Result<ProcessIdentity> spawn_detached(const SpawnRequest& request) {
  if (request.argv.empty()) return Error{ErrorKind::invalid, "empty command"};
  SpawnAttributes spawn(POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  reset_signals(spawn.attributes());
  posix_spawn_file_actions_addopen(spawn.actions(), 0, "/dev/null", O_RDONLY, 0);
  const std::string output = request.output_file.empty() ? "/dev/null" : request.output_file.string();
  posix_spawn_file_actions_addopen(spawn.actions(), 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(spawn.actions(), 1, 2);
  if (!request.working_directory.empty()) {
    posix_spawn_file_actions_addchdir_np(spawn.actions(), request.working_directory.c_str());
  }
  auto argv = make_argv(request.argv);
  std::vector<char*> environment;
  if (request.environment) environment = make_argv(*request.environment);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], spawn.actions(), spawn.attributes(), argv.data(),
                              request.environment ? environment.data() : environ);
  if (rc != 0) return spawn_error(request.argv, rc);
  ProcessIdentity identity{pid, 0};
  // The start time is readable as soon as the pid exists.
  if (auto ticks = process_start_ticks(pid)) identity.start_ticks = *ticks;
  return identity;
}

namespace {

// The fields of /proc/<pid>/stat from field 3 (state) on, or nothing when it cannot be read.
std::optional<std::vector<std::string>> stat_fields(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return std::nullopt;
  // The command name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
  const auto close = content.rfind(')');
  if (close == std::string::npos || close + 2 > content.size()) return std::nullopt;
  return split(std::string_view(content).substr(close + 2), ' ');
}

}  // namespace

std::optional<std::uint64_t> process_start_ticks(pid_t pid) {
  const auto fields = stat_fields(pid);
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  if (!fields || fields->size() < 20) return std::nullopt;
  if ((*fields)[0] == "Z" || (*fields)[0] == "X") return std::nullopt;
  const auto ticks = parse_int((*fields)[19]);
  if (!ticks) return std::nullopt;
  return static_cast<std::uint64_t>(*ticks);
}

std::optional<std::string> process_name(pid_t pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (!std::getline(comm, name) || name.empty()) return std::nullopt;
  return name;
}

bool is_running(const ProcessIdentity& process) {
  if (process.pid <= 0) return false;
  reap_if_child(process.pid);
  const auto ticks = process_start_ticks(process.pid);
  if (!ticks) return false;
  return process.start_ticks == 0 || *ticks == process.start_ticks;
}

bool is_stopped(const ProcessIdentity& process) {
  if (!is_running(process)) return false;
  const auto fields = stat_fields(process.pid);
  return fields && !fields->empty() && ((*fields)[0] == "T" || (*fields)[0] == "t");
}

void stop_process(const ProcessIdentity& process, std::chrono::milliseconds grace) {
  if (!is_running(process)) return;
  // Our servers lead their own session and process group; signal the group so helpers go too.
  const pid_t group = ::getpgid(process.pid) == process.pid ? -process.pid : process.pid;
  ::kill(group, SIGTERM);
  const auto deadline = SteadyClock::now() + grace;
  while (SteadyClock::now() < deadline) {
    if (!is_running(process)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(group, SIGKILL);
  for (int i = 0; i < 400 && is_running(process); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

namespace {

// A child that exits without reading all its input must not kill this process with SIGPIPE,
// whether or not the program ignores it: the write fails with EPIPE instead. SIGPIPE is blocked
// in this thread for the write, and one it raised is consumed before the mask is restored.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
  const ssize_t written = ::write(fd, data, size);
  const int saved_errno = errno;
  if (written < 0 && saved_errno == EPIPE) {
    const timespec no_wait{0, 0};
    while (sigtimedwait(&pipe_signal, nullptr, &no_wait) == SIGPIPE) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  errno = saved_errno;
  return written;
}

}  // namespace

namespace {

// The stop request of run_command: passes the signal on to the command's process group once,
// and says when the command's grace is over.
class StopForwarder {
 public:
  StopForwarder(const CommandRequest& request, pid_t group) : request_(request), group_(group) {}

  // Passes a newly requested stop on; true once the command outlived its grace.
  bool grace_over(CommandResult& result) {
    if (!request_.stop_signal) return false;
    if (result.passed_on_signal == 0) {
      const int signal = request_.stop_signal();
      if (signal == 0) return false;
      ::kill(-group_, signal);
      result.passed_on_signal = signal;
      grace_end_ = SteadyClock::now() + request_.stop_grace;
    }
    return SteadyClock::now() >= grace_end_;
  }

  // How long one wait for output may block: short while a stop may come.
  int poll_ms(std::chrono::milliseconds remaining) const {
    return static_cast<int>(std::min<std::int64_t>(remaining.count(), request_.stop_signal ? 100 : 1000));
  }

 private:
  const CommandRequest& request_;
  pid_t group_;
  SteadyClock::time_point grace_end_{};
};

}  // namespace

Result<CommandResult> run_command(const CommandRequest& request) {
  if (request.argv.empty()) return Error{ErrorKind::invalid, "empty command"};
  auto input_pipe = make_pipe(request.argv);
  if (!input_pipe) return input_pipe.error();
  auto output_pipe = make_pipe(request.argv);
  if (!output_pipe) return output_pipe.error();
  SpawnAttributes spawn(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(spawn.attributes(), 0);
  reset_signals(spawn.attributes());
  posix_spawn_file_actions_adddup2(spawn.actions(), input_pipe->read_end.get(), 0);
  posix_spawn_file_actions_adddup2(spawn.actions(), output_pipe->write_end.get(), 1);
  if (request.capture_stderr) {
    posix_spawn_file_actions_adddup2(spawn.actions(), output_pipe->write_end.get(), 2);
  } else if (!request.stderr_file.empty()) {
    posix_spawn_file_actions_addopen(spawn.actions(), 2, request.stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
  }
  if (!request.working_directory.empty()) {
    posix_spawn_file_actions_addchdir_np(spawn.actions(), request.working_directory.c_str());
  }
  auto argv = make_argv(request.argv);
  auto environment_strings = merged_environment(request.environment);
  if (!request.inherit_environment) {
    environment_strings = request.environment;
    if (const char* path = std::getenv("PATH")) environment_strings.push_back(std::string("PATH=") + path);
  }
  auto environment = make_argv(environment_strings);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], spawn.actions(), spawn.attributes(), argv.data(), environment.data());
  // The child has its copies; ours must go, or the child never sees end-of-file on stdin.
  input_pipe->read_end.reset();
  output_pipe->write_end.reset();
  if (rc != 0) return spawn_error(request.argv, rc);

  UniqueFd input = std::move(input_pipe->write_end);
  UniqueFd output = std::move(output_pipe->read_end);
  ::fcntl(input.get(), F_SETFL, O_NONBLOCK);
  std::size_t input_written = 0;
  if (request.input.empty()) input.reset();
  CommandResult result;
  bool timed_out = false;
  StopForwarder stop(request, pid);
  const auto deadline = SteadyClock::now() + request.timeout;
  while (output) {
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (remaining.count() <= 0) {
      timed_out = true;
      break;
    }
    if (stop.grace_over(result)) {
      result.killed_after_grace = true;
      break;
    }
    pollfd fds[2];
    nfds_t count = 0;
    fds[count++] = {output.get(), POLLIN, 0};
    if (input) fds[count++] = {input.get(), POLLOUT, 0};
    const int ready = ::poll(fds, count, stop.poll_ms(remaining));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    if (fds[0].revents != 0) {
      char buffer[65536];
      const ssize_t n = ::read(output.get(), buffer, sizeof buffer);
      if (n > 0) {
        const std::size_t room = request.max_output - std::min(request.max_output, result.output.size());
        const auto read = static_cast<std::size_t>(n);
        result.output.append(buffer, std::min(room, read));
        if (read > room) result.output_truncated = true;
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        output.reset();
      }
    }
    if (count > 1 && fds[1].revents != 0) {
      const ssize_t n = write_without_sigpipe(input.get(), request.input.data() + input_written,
                                              request.input.size() - input_written);
      if (n > 0) input_written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) input_written = request.input.size();  // reader gone
      if (input_written >= request.input.size()) input.reset();
    }
  }
  input.reset();
  output.reset();
  if (timed_out || result.killed_after_grace) ::kill(-pid, SIGKILL);

  int status = 0;
  while (true) {
    if (!timed_out && !result.killed_after_grace) {
      const auto remaining = deadline - SteadyClock::now();
      if (remaining <= std::chrono::milliseconds(0)) {
        timed_out = true;
        ::kill(-pid, SIGKILL);
      } else if (stop.grace_over(result)) {
        result.killed_after_grace = true;
        ::kill(-pid, SIGKILL);
      }
    }
    const pid_t waited = ::waitpid(pid, &status, timed_out || result.killed_after_grace ? 0 : WNOHANG);
    if (waited == pid) break;
    if (waited < 0 && errno != EINTR) break;
    if (waited == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (timed_out) {
    return Error{ErrorKind::timeout, shell_quote(request.argv[0]) + " did not finish within " +
                                         format_duration_ms(request.timeout.count()) + " and was stopped"};
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace phoenix::util
