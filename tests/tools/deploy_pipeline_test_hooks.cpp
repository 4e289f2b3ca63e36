// deploy-pipeline with its test seams set, for the crash tests only (never installed):
// PHOENIX_TEST_KILL_AT_STEP=N kills the process with SIGKILL just before step N of a switch,
// to prove crash safety at every step boundary.
#include <signal.h>

#include <cstdlib>
#include <string>

#include "deploy-pipeline/commands.hpp"
#include "shared/cli/app.hpp"

int main(int argc, char** argv) {
  phoenix::cli::RunHooks hooks;
  if (const char* step = std::getenv("PHOENIX_TEST_KILL_AT_STEP"); step != nullptr && *step != '\0') {
    const auto kill_at = static_cast<std::size_t>(std::stoul(step));
    hooks.before_switch_step = [kill_at](std::size_t index) {
      if (index == kill_at) ::raise(SIGKILL);
    };
  }
  return phoenix::cli::run_program(phoenix::deploy_pipeline::program(), argc, argv, hooks);
}
