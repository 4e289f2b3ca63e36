#include "shared/cli/app.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "shared/ci/ci_context.hpp"
#include "shared/cli/runtime.hpp"
#include "shared/config/config.hpp"
#include "shared/core/label.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::cli {

namespace {

constexpr const char* kVersion = "0.1.0";

std::string exit_code_help() {
  return "Exit codes: 0 done, 1 the operation failed, 2 usage or configuration error,\n"
         "3 refused by a safety rule, 4 an external system stayed unavailable.\n";
}

void add_common_options(po::options_description& options, bool output_option) {
  // clang-format off
  options.add_options()
    ("config", po::value<std::string>()->value_name("FILE"),
       "service configuration (default: $PHOENIX_CONFIG, else ./phoenix.json)")
    ("verbose,v", po::bool_switch(), "print more detail about each step")
    ("quiet,q", po::bool_switch(), "print only warnings and errors on stderr")
    ("no-color", po::bool_switch(), "no colour (also off when NO_COLOR is set or stderr is not a terminal)")
    ("help,h", po::bool_switch(), "show this help")
    ("version", po::bool_switch(), "show the version");
  if (output_option) {
    options.add_options()
      ("output,o", po::value<std::string>()->value_name("FORMAT")->default_value("table"), "table or json");
  }
  // clang-format on
}

std::string program_help(const Program& program) {
  std::ostringstream out;
  out << "Usage: " << program.name << " <command> [options]\n\n" << program.description << "\n\nCommands:\n";
  std::size_t width = 0;
  for (const auto& command : program.commands) width = std::max(width, command.name.size());
  for (const auto& command : program.commands) {
    out << "  " << command.name << std::string(width - command.name.size() + 2, ' ') << command.summary << "\n";
  }
  out << "\nRun '" << program.name << " <command> --help' for a command's options and an example.\n"
      << exit_code_help();
  return out.str();
}

std::string command_help(const Program& program, const Command& command) {
  po::options_description own("Options");
  if (command.add_options) command.add_options(own);
  po::options_description common("Common options");
  add_common_options(common, command.output_option);
  std::ostringstream out;
  out << "Usage: " << program.name << " " << command.synopsis << " [options]\n\n" << command.details << "\n\n";
  if (!own.options().empty()) out << own << "\n";
  out << common << "\nExample:\n  " << command.example << "\n\n" << exit_code_help();
  return out.str();
}

void print_error(const std::string& program, const std::string& message) {
  const bool color = util::color_wanted(stderr, false);
  const std::string text = util::redact(message);
  if (color) {
    std::fprintf(stderr, "%s: \033[31merror:\033[0m %s\n", program.c_str(), text.c_str());
  } else {
    std::fprintf(stderr, "%s: error: %s\n", program.c_str(), text.c_str());
  }
}

const Command* find_command(const Program& program, const std::string& name) {
  for (const auto& command : program.commands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

std::string command_names(const Program& program) {
  std::vector<std::string> names;
  for (const auto& command : program.commands) names.push_back(command.name);
  return util::join(names, ", ");
}

int run_command(const Program& program, const Command& command, const std::vector<std::string>& arguments) {
  po::options_description options;
  po::options_description own;
  if (command.add_options) command.add_options(own);
  options.add(own);
  add_common_options(options, command.output_option);
  po::variables_map values;
  const std::string see = " (see '" + program.name + " " + command.name + " --help')";
  po::positional_options_description positional;
  if (!command.positional.empty()) positional.add(command.positional.c_str(), 1);
  try {
    po::store(po::command_line_parser(arguments).options(options).positional(positional).run(), values);
    po::notify(values);
  } catch (const po::error& error) {
    print_error(program.name, std::string(error.what()) + see);
    return 2;
  }
  if (values["help"].as<bool>()) {
    std::cout << command_help(program, command);
    return 0;
  }
  if (values["version"].as<bool>()) {
    std::cout << program.name << " " << kVersion << "\n";
    return 0;
  }
  GlobalOptions global;
  if (values.count("config") != 0) global.config = values["config"].as<std::string>();
  if (values["verbose"].as<bool>() && values["quiet"].as<bool>()) {
    print_error(program.name, "--verbose and --quiet exclude each other" + see);
    return 2;
  }
  if (values["verbose"].as<bool>()) global.verbosity = util::Verbosity::verbose;
  if (values["quiet"].as<bool>()) global.verbosity = util::Verbosity::quiet;
  global.no_color = values["no-color"].as<bool>();
  if (command.output_option) {
    const auto format = values["output"].as<std::string>();
    if (format == "json") {
      global.output = OutputFormat::json;
    } else if (format != "table") {
      print_error(program.name, "--output must be 'table' or 'json', not '" + util::printable(format, 40) + "'" + see);
      return 2;
    }
  }

  CommandContext context(program.name, global, values);
  const Status status = command.run(context);
  if (status.ok()) return 0;
  print_error(program.name, status.error().message);
  return exit_code_for(status.error().kind);
}

}  // namespace

CommandContext::CommandContext(std::string program, GlobalOptions global, const po::variables_map& values)
    : program_(std::move(program)), global_(global), values_(values), clock_(std::make_unique<util::SystemClock>()) {
  util::ConsoleStyle style{global_.verbosity, util::color_wanted(stderr, global_.no_color)};
  reporter_ = std::make_unique<util::ConsoleReporter>(stderr, style, *clock_);
}

CommandContext::~CommandContext() = default;

util::Reporter& CommandContext::reporter() { return *reporter_; }

Result<ops::Services*> CommandContext::services() {
  if (!runtime_) {
    const auto environment = ci::current_environment();
    const auto from_environment = environment.count("PHOENIX_CONFIG") != 0
                                      ? std::optional<std::string>(environment.at("PHOENIX_CONFIG"))
                                      : std::nullopt;
    auto loaded = config::load_config(config::choose_config_file(global_.config, from_environment));
    if (!loaded) return loaded.error();
    auto runtime = Runtime::create(std::move(*loaded), *clock_, *reporter_);
    if (!runtime) return runtime.error();
    runtime_ = std::move(*runtime);
  }
  return &runtime_->services();
}

void CommandContext::print(const std::string& text) const {
  const std::string safe = util::redact(text);
  std::fwrite(safe.data(), 1, safe.size(), stdout);
  std::fflush(stdout);
}

void add_label_option(po::options_description& options, bool required) {
  options.add_options()("label,l", po::value<std::string>()->value_name("L"),
                        required ? "release label of the pool (required)"
                                 : "release label (default: GO_PIPELINE_LABEL, else BUILD_NUMBER)");
}

Result<std::string> label_option(const CommandContext& context) {
  auto sources = ci::read_ci_context(ci::current_environment()).label;
  sources.option = context.get<std::string>("label");
  return resolve_label(sources);
}

int run_program(const Program& program, int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  // Whatever path a secret might take to the output, it is masked there.
  for (const char* name : {"HCLOUD_TOKEN", "GOCD_TOKEN", "GOCD_PASSWORD", "JENKINS_TOKEN", "JENKINS_PASSWORD"}) {
    if (const char* value = std::getenv(name)) util::register_secret(value);
  }
  std::vector<std::string> arguments(argv + 1, argv + argc);
  try {
    if (arguments.empty()) {
      std::cerr << program_help(program);
      return 2;
    }
    const std::string& first = arguments.front();
    if (first == "--help" || first == "-h" || (first == "help" && arguments.size() == 1)) {
      std::cout << program_help(program);
      return 0;
    }
    if (first == "--version") {
      std::cout << program.name << " " << kVersion << "\n";
      return 0;
    }
    if (first == "help") {
      const Command* command = find_command(program, arguments[1]);
      if (command == nullptr) {
        print_error(program.name, "unknown command '" + util::printable(arguments[1], 40) +
                                      "' (commands: " + command_names(program) + ")");
        return 2;
      }
      std::cout << command_help(program, *command);
      return 0;
    }
    const Command* command = find_command(program, first);
    if (command == nullptr) {
      print_error(program.name, "unknown command '" + util::printable(first, 40) +
                                    "' (commands: " + command_names(program) + "; see '" + program.name + " --help')");
      return 2;
    }
    return run_command(program, *command, {arguments.begin() + 1, arguments.end()});
  } catch (const std::exception& error) {
    print_error(program.name, std::string("internal error: ") + error.what());
    return 1;
  }
}

}  // namespace phoenix::cli
