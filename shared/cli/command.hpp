#pragma once
// What a command of create-pipeline or deploy-pipeline declares and sees. Free of Boost: the
// commands declare their options as plain data, receive parsed values, call ops/ and print.
// Parsing (Boost.Program_options), the environment and the wiring of real implementations
// stay in app.cpp and runtime.cpp.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "shared/ci/ci_servers.hpp"
#include "shared/core/http_client.hpp"
#include "shared/ops/services.hpp"
#include "shared/util/reporter.hpp"
#include "shared/util/result.hpp"

namespace phoenix::cli {

enum class OutputFormat { table, json };

struct GlobalOptions {
  std::optional<std::string> config;
  util::Verbosity verbosity = util::Verbosity::normal;
  bool no_color = false;
  OutputFormat output = OutputFormat::table;
};

enum class OptionKind { flag, text, integer };

struct OptionSpec {
  std::string name;     // "label": given as --label
  char short_name = 0;  // 'l': also -l
  OptionKind kind = OptionKind::flag;
  std::string value_name;  // "L" in "--label L"
  std::string help;
  // A variable that gives the value when the option is absent ("PHOENIX_ROLLBACK_TO"): GoCD
  // exec tasks do not expand $VARS in arguments, so pipelines pass values this way.
  std::string environment;
};

// The parsed options of one command.
class Arguments {
 public:
  std::optional<std::string> text(std::string_view name) const;
  std::optional<long long> integer(std::string_view name) const;
  bool flag(std::string_view name) const;
  // Where a value came from, for messages: "--to" or "PHOENIX_ROLLBACK_TO".
  std::string origin(std::string_view name) const;

  // Filled by the parser.
  void set_text(const std::string& name, std::string value, std::string origin);
  void set_integer(const std::string& name, long long value);
  void set_flag(const std::string& name);

 private:
  std::map<std::string, std::string, std::less<>> texts_;
  std::map<std::string, long long, std::less<>> integers_;
  std::map<std::string, std::string, std::less<>> origins_;
  std::set<std::string, std::less<>> flags_;
};

class Runtime;

// What a command sees: its options, the configured services on demand, and the output.
class CommandContext {
 public:
  CommandContext(GlobalOptions global, Arguments arguments, Runtime& runtime);

  const GlobalOptions& global() const { return global_; }
  const Arguments& args() const { return arguments_; }
  // Loads the configuration (once) and wires the real provider, balancer and state store.
  Result<ops::Services*> services();
  // A progress reporter that works before (or without) a configuration.
  util::Reporter& reporter();
  // The real HTTP client, for commands that talk to a server named on the command line.
  HttpClient& http();
  // The credentials of a CI server from the environment; `invalid` naming the variables to
  // set when they are missing.
  Result<ci::Credentials> ci_credentials(ci::System system) const;
  // The release label: --label, else GO_PIPELINE_LABEL (GoCD), else BUILD_NUMBER (Jenkins),
  // validated.
  Result<std::string> label() const;
  // Writes a command's result to stdout, secrets redacted.
  void print(const std::string& text) const;

 private:
  GlobalOptions global_;
  Arguments arguments_;
  Runtime& runtime_;
};

struct Command {
  std::string name;
  std::string summary;   // one line for the command list
  std::string synopsis;  // "create [--label L] [--size N]"
  std::string details;   // what it does, exit codes that matter
  std::string example;
  bool output_option = false;  // takes --output table|json
  std::vector<OptionSpec> options;
  std::function<Status(CommandContext&)> run;
  std::string positional;  // the name of one positional argument ("action"), if any
};

struct Program {
  std::string name;         // "create-pipeline"
  std::string description;  // one paragraph
  std::vector<Command> commands;
};

// Options several commands share.
OptionSpec label_option(bool required);
OptionSpec dry_run_option(const std::string& help = "print the plan, change nothing");
OptionSpec break_lock_option();

}  // namespace phoenix::cli
