// create-pipeline: the per-commit pipeline. All behaviour lives in the library.
#include "create-pipeline/commands.hpp"
#include "shared/cli/app.hpp"

int main(int argc, char** argv) { return phoenix::cli::run_program(phoenix::create_pipeline::program(), argc, argv); }
