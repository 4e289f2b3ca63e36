#pragma once
// The command-line layer: Boost.Program_options stays here. It turns arguments into plain
// option structs, wires real implementations, runs a command, and is the one place where an
// error becomes "<program>: error: <message>" and an exit code.

#include <boost/program_options.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/ops/services.hpp"
#include "shared/util/result.hpp"

namespace phoenix::cli {

namespace po = boost::program_options;

enum class OutputFormat { table, json };

struct GlobalOptions {
  std::optional<std::string> config;
  util::Verbosity verbosity = util::Verbosity::normal;
  bool no_color = false;
  OutputFormat output = OutputFormat::table;
};

class Runtime;

// What a command sees: its parsed options and, on demand, the configured services.
class CommandContext {
 public:
  CommandContext(std::string program, GlobalOptions global, const po::variables_map& values);
  ~CommandContext();
  CommandContext(const CommandContext&) = delete;
  CommandContext& operator=(const CommandContext&) = delete;

  const GlobalOptions& global() const { return global_; }
  const po::variables_map& values() const { return values_; }
  // Loads the configuration and wires the real provider, balancer and state store.
  Result<ops::Services*> services();
  // A progress reporter that works before (or without) a configuration.
  util::Reporter& reporter();

  template <class T>
  std::optional<T> get(const char* name) const {
    if (values_.count(name) == 0) return std::nullopt;
    return values_[name].as<T>();
  }
  bool flag(const char* name) const { return values_.count(name) != 0 && values_[name].as<bool>(); }

  // Writes a command's result to stdout.
  void print(const std::string& text) const;

 private:
  std::string program_;
  GlobalOptions global_;
  const po::variables_map& values_;
  std::unique_ptr<Runtime> runtime_;
  std::unique_ptr<util::Clock> clock_;
  std::unique_ptr<util::Reporter> reporter_;
};

struct Command {
  std::string name;
  std::string summary;   // one line for the command list
  std::string synopsis;  // "create [--label L] [--size N]"
  std::string details;   // what it does, exit codes that matter
  std::string example;
  bool output_option = false;  // takes --output table|json
  std::function<void(po::options_description&)> add_options;
  std::function<Status(CommandContext&)> run;
  std::string positional;  // the name of one positional argument ("action"), if any
};

struct Program {
  std::string name;         // "create-pipeline"
  std::string description;  // one paragraph
  std::vector<Command> commands;
};

// Parses argv, runs the command, prints errors; returns the process exit code.
int run_program(const Program& program, int argc, char** argv);

// The label from --label, else GO_PIPELINE_LABEL, else BUILD_NUMBER, validated.
Result<std::string> label_option(const CommandContext& context);

// Parses "--output" values and the like: the shared words of option values.
void add_label_option(po::options_description& options, bool required);

}  // namespace phoenix::cli
