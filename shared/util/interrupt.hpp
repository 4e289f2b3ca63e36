#pragma once
// SIGINT, SIGTERM and SIGHUP (the terminal or the CI agent's session went away) as a request
// to stop at the next safe point. While an InterruptScope is alive, the signals set a flag
// instead of killing the process; code with safe points (the switch between steps and while
// it waits) polls interrupt_requested() and ends cleanly, so the lock is released and the
// intent record says where it stopped. Outside any scope the signals keep their default
// action. A SIGHUP ignored when the scope begins (`nohup`) stays ignored.

#include <string>

#include "shared/util/result.hpp"

namespace phoenix::util {

class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;
};

bool interrupt_requested();
// The signal that asked to stop (SIGINT, SIGTERM, SIGHUP), or 0.
int interrupt_signal();
// "SIGINT", "SIGTERM", "SIGHUP".
const char* interrupt_signal_name();
// The error of a command that stopped at a safe point on that request: "stopped by SIGHUP
// <what>", ErrorCode::interrupted (exit 128 + the signal).
Error stopped_by_signal(const std::string& what);

}  // namespace phoenix::util
