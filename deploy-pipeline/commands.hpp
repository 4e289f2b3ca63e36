#pragma once
// The deploy-pipeline commands: option parsing and result printing around ops/ calls.

#include "shared/cli/command.hpp"

namespace phoenix::deploy_pipeline {

const cli::Program& program();

}  // namespace phoenix::deploy_pipeline
