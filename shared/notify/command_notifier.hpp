#pragma once
// The `command` notifier: runs the operator's program without a shell (argv as configured) with
// the notification's JSON document (payload.hpp) on stdin, one run per notification. Exit 0
// means delivered.

#include <chrono>
#include <string>
#include <vector>

#include "shared/core/notifier.hpp"
#include "shared/util/clock.hpp"

namespace phoenix::notify {

struct CommandTarget {
  std::string name;  // "command (page-oncall)": names it in warnings
  std::vector<std::string> argv;
  // The whole delivery of one notification, its retry included: a run still going then is
  // killed with its process group.
  std::chrono::milliseconds timeout{3000};
};

// Safe to call from any thread (NotifierSet runs it beside the HTTP batch) when `clock` is.
class CommandNotifier final : public Notifier {
 public:
  CommandNotifier(util::Clock& clock, CommandTarget target);
  const std::string& name() const { return target_.name; }
  // Runs the command; when it fails (a non-zero exit, a signal, it could not start) it runs
  // once more if at least 100 ms of the timeout are left. A run killed at the timeout is not
  // retried. Errors start with the name and end with the last line the command printed.
  Status notify(const Notification& notification) override;

 private:
  Status run_once(const std::string& input, std::chrono::milliseconds budget) const;

  util::Clock& clock_;
  CommandTarget target_;
};

}  // namespace phoenix::notify
