#include "shared/util/interrupt.hpp"

#include <signal.h>

namespace phoenix::util {

namespace {

volatile sig_atomic_t requested_signal = 0;
int scopes = 0;
struct sigaction previous_interrupt {};
struct sigaction previous_terminate {};

void on_signal(int signal) { requested_signal = signal; }

}  // namespace

InterruptScope::InterruptScope() {
  if (scopes++ > 0) return;
  requested_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &previous_interrupt);
  ::sigaction(SIGTERM, &action, &previous_terminate);
}

InterruptScope::~InterruptScope() {
  if (--scopes > 0) return;
  ::sigaction(SIGINT, &previous_interrupt, nullptr);
  ::sigaction(SIGTERM, &previous_terminate, nullptr);
}

bool interrupt_requested() { return requested_signal != 0; }

int interrupt_signal() { return requested_signal; }

const char* interrupt_signal_name() {
  switch (requested_signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

}  // namespace phoenix::util
