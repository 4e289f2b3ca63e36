#pragma once
// The create-pipeline commands: option parsing and result printing around ops/ calls.

#include "shared/cli/command.hpp"

namespace phoenix::create_pipeline {

const cli::Program& program();

}  // namespace phoenix::create_pipeline
