#pragma once
// The command-line entry point: parses argv (Boost.Program_options stays in app.cpp), runs the
// command, and is the one place where an error becomes "<program>: error: <message>" and an
// exit code.

#include "shared/cli/command.hpp"
#include "shared/cli/runtime.hpp"

namespace phoenix::cli {

// Parses argv, runs the command, prints errors; returns the process exit code. `hooks` are
// test seams (see RunHooks); the shipped executables pass none.
int run_program(const Program& program, int argc, char** argv, const RunHooks& hooks = {});

}  // namespace phoenix::cli
