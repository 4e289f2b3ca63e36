#include "shared/util/interrupt.hpp"

#include <signal.h>

namespace phoenix::util {

namespace {

volatile sig_atomic_t requested_signal = 0;
int scopes = 0;

// The signals a scope turns into a stop request, with the action each had before it.
struct Handled {
  int signal;
  struct sigaction previous;
};
Handled handled[] = {{SIGINT, {}}, {SIGTERM, {}}, {SIGHUP, {}}};

void on_signal(int signal) { requested_signal = signal; }

// A hangup that was ignored when the scope began (`nohup`) stays ignored: the operator asked
// the command to outlive its terminal.
bool stays_ignored(const Handled& entry) { return entry.signal == SIGHUP && entry.previous.sa_handler == SIG_IGN; }

}  // namespace

InterruptScope::InterruptScope() {
  if (scopes++ > 0) return;
  requested_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  for (auto& entry : handled) {
    ::sigaction(entry.signal, nullptr, &entry.previous);
    if (!stays_ignored(entry)) ::sigaction(entry.signal, &action, nullptr);
  }
}

InterruptScope::~InterruptScope() {
  if (--scopes > 0) return;
  for (const auto& entry : handled) ::sigaction(entry.signal, &entry.previous, nullptr);
}

Error stopped_by_signal(const std::string& what) {
  return Error{ErrorKind::failed, std::string("stopped by ") + interrupt_signal_name() + " " + what,
               ErrorCode::interrupted};
}

bool interrupt_requested() { return requested_signal != 0; }

int interrupt_signal() { return requested_signal; }

const char* interrupt_signal_name() {
  switch (requested_signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

}  // namespace phoenix::util
