#include "shared/util/interrupt.hpp"

#include <signal.h>

#include <catch2/catch.hpp>
#include <string>

using namespace phoenix::util;

namespace {

// The action installed for `signal` now.
struct sigaction current_action(int signal) {
  struct sigaction action {};
  ::sigaction(signal, nullptr, &action);
  return action;
}

// Sets `signal` to `handler` for the life of the object, then restores what was there.
class SignalAction {
 public:
  SignalAction(int signal, void (*handler)(int)) : signal_(signal) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    ::sigaction(signal_, &action, &previous_);
  }
  ~SignalAction() { ::sigaction(signal_, &previous_, nullptr); }
  SignalAction(const SignalAction&) = delete;
  SignalAction& operator=(const SignalAction&) = delete;

 private:
  int signal_;
  struct sigaction previous_ {};
};

}  // namespace

TEST_CASE("SIGINT, SIGTERM and SIGHUP inside a scope ask to stop instead of ending the process", "[util][interrupt]") {
  const auto [signal, name] =
      GENERATE(table<int, std::string>({{SIGINT, "SIGINT"}, {SIGTERM, "SIGTERM"}, {SIGHUP, "SIGHUP"}}));
  const SignalAction by_default(signal, SIG_DFL);
  {
    const InterruptScope scope;
    CHECK_FALSE(interrupt_requested());
    ::raise(signal);  // without a handler the default action ends the test process here
    CHECK(interrupt_requested());
    CHECK(interrupt_signal() == signal);
    CHECK(interrupt_signal_name() == name);
  }
  // Outside the scope the signal has its default action again.
  CHECK(current_action(signal).sa_handler == SIG_DFL);
}

TEST_CASE("a SIGHUP ignored before the scope (nohup) stays ignored inside it", "[util][interrupt]") {
  const SignalAction nohup(SIGHUP, SIG_IGN);
  {
    const InterruptScope scope;
    CHECK(current_action(SIGHUP).sa_handler == SIG_IGN);
    ::raise(SIGHUP);
    CHECK_FALSE(interrupt_requested());
    // SIGTERM still stops it.
    ::raise(SIGTERM);
    CHECK(interrupt_signal() == SIGTERM);
  }
  CHECK(current_action(SIGHUP).sa_handler == SIG_IGN);
}

TEST_CASE("nested scopes keep the stop handlers until the outermost one ends", "[util][interrupt]") {
  const SignalAction by_default(SIGHUP, SIG_DFL);
  {
    const InterruptScope outer;
    { const InterruptScope inner; }
    ::raise(SIGHUP);
    CHECK(interrupt_signal() == SIGHUP);
  }
  CHECK(current_action(SIGHUP).sa_handler == SIG_DFL);
}
