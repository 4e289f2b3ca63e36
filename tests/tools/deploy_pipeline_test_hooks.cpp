// deploy-pipeline with its test seams set, for the crash tests only (never installed):
// PHOENIX_TEST_KILL_AT_STEP=N kills the process with SIGKILL just before step N of a switch,
// to prove crash safety at every step boundary. PHOENIX_TEST_PAUSE_AT_STEP=N:PID sends
// SIGSTOP to process PID (a balancer the test started) just before step N, to freeze one
// balancer in the middle of a switch. PHOENIX_TEST_STOP_AT_STEP=N stops the process itself
// (SIGSTOP) just before step N, the first time it comes, so a test can act at that exact point
// and then let it go on (SIGCONT). N equal to the number of steps is the moment after the
// last one, the switch recorded, before its end is confirmed against the HAProxy process
// answering then. The value `wake` instead of a step (PHOENIX_TEST_KILL_AT_STEP=wake,
// PHOENIX_TEST_STOP_AT_STEP=wake) acts once the wake of a powered-off or cold switch target has
// started its servers, before their check and smoke test: a wake cut short.
#include <signal.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "deploy-pipeline/commands.hpp"
#include "shared/cli/app.hpp"

namespace {

// Whether the variable `name` says `wake`: then `signal` is raised in the wake, and no step hook
// is set from it.
bool at_wake(const char* name, int signal, phoenix::cli::RunHooks& hooks) {
  const char* value = std::getenv(name);
  if (value == nullptr || std::string(value) != "wake") return false;
  auto earlier = hooks.while_waking;
  hooks.while_waking = [signal, earlier] {
    if (earlier) earlier();
    ::raise(signal);
  };
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  phoenix::cli::RunHooks hooks;
  const bool kill_in_wake = at_wake("PHOENIX_TEST_KILL_AT_STEP", SIGKILL, hooks);
  const bool stop_in_wake = at_wake("PHOENIX_TEST_STOP_AT_STEP", SIGSTOP, hooks);
  if (const char* step = std::getenv("PHOENIX_TEST_KILL_AT_STEP"); !kill_in_wake && step != nullptr && *step != '\0') {
    const auto kill_at = static_cast<std::size_t>(std::stoul(step));
    hooks.before_switch_step = [kill_at](std::size_t index) {
      if (index == kill_at) ::raise(SIGKILL);
    };
  }
  if (const char* pause = std::getenv("PHOENIX_TEST_PAUSE_AT_STEP"); pause != nullptr && *pause != '\0') {
    const std::string text(pause);
    const auto colon = text.find(':');
    const auto pause_at = static_cast<std::size_t>(std::stoul(text.substr(0, colon)));
    const auto pid = static_cast<pid_t>(std::stol(text.substr(colon + 1)));
    auto earlier = hooks.before_switch_step;
    hooks.before_switch_step = [pause_at, pid, earlier](std::size_t index) {
      if (earlier) earlier(index);
      if (index == pause_at) ::kill(pid, SIGSTOP);
    };
  }
  if (const char* stop = std::getenv("PHOENIX_TEST_STOP_AT_STEP"); !stop_in_wake && stop != nullptr && *stop != '\0') {
    const auto stop_at = static_cast<std::size_t>(std::stoul(stop));
    auto earlier = hooks.before_switch_step;
    // Once: a switch that plans again passes step N again, and the test lets it go on once.
    auto stopped = std::make_shared<bool>(false);
    hooks.before_switch_step = [stop_at, earlier, stopped](std::size_t index) {
      if (earlier) earlier(index);
      if (index == stop_at && !*stopped) {
        *stopped = true;
        ::raise(SIGSTOP);
      }
    };
  }
  return phoenix::cli::run_program(phoenix::deploy_pipeline::program(), argc, argv, hooks);
}
