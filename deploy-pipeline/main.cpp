// deploy-pipeline: the manual pipeline. All behaviour lives in the library.
#include "deploy-pipeline/commands.hpp"
#include "shared/cli/app.hpp"

int main(int argc, char** argv) { return phoenix::cli::run_program(phoenix::deploy_pipeline::program(), argc, argv); }
