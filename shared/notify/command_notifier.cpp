#include "shared/notify/command_notifier.hpp"

#include "shared/notify/payload.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::notify {

namespace {

constexpr std::size_t kMaxCommandOutput = 64 * 1024;

constexpr std::chrono::milliseconds kMinCommandRetryBudget{100};

// The last non-empty line of what the command printed, for the warning.
std::string last_line(const std::string& output) {
  const auto lines = util::split_lines(output);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    const auto line = util::trim(*it);
    if (!line.empty()) return ": " + util::printable(line, 160);
  }
  return "";
}

}  // namespace

CommandNotifier::CommandNotifier(util::Clock& clock, CommandTarget target)
    : clock_(clock), target_(std::move(target)) {}

Status CommandNotifier::run_once(const std::string& input, std::chrono::milliseconds budget) const {
  util::CommandRequest request;
  request.argv = target_.argv;
  request.input = input;
  request.timeout = budget;
  request.capture_stderr = true;           // its output is ours to judge, not the operator's console
  request.max_output = kMaxCommandOutput;  // only a line of it is shown: a chatty one costs no memory
  auto result = util::run_command(request);
  if (!result) {
    if (result.error().kind == ErrorKind::timeout) {
      return Error{ErrorKind::timeout, "did not finish within its timeout (" +
                                           util::format_duration_ms(target_.timeout.count()) + ") and was stopped"};
    }
    return Error{ErrorKind::unavailable, result.error().message};
  }
  if (result->exit_code == 0) return {};
  const std::string how = result->signal != 0 ? "was killed by signal " + std::to_string(result->signal)
                                              : "exited with " + std::to_string(result->exit_code);
  return Error{ErrorKind::unavailable, how + last_line(result->output)};
}

Status CommandNotifier::notify(const Notification& notification) {
  const std::string input = notification_json(notification) + "\n";
  const auto started = clock_.now();
  Status status = run_once(input, target_.timeout);
  bool retried = false;
  if (!status.ok() && status.error().kind != ErrorKind::timeout) {
    const auto left = target_.timeout - std::chrono::milliseconds(util::elapsed_ms(started, clock_.now()));
    if (left >= kMinCommandRetryBudget) {
      status = run_once(input, left);
      retried = true;
    }
  }
  if (status.ok()) return {};
  return Error{status.error().kind, target_.name + ": " + status.error().message + (retried ? " (after a retry)" : "")};
}

}  // namespace phoenix::notify
