#include "shared/cli/app.hpp"

#include <signal.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <iostream>
#include <sstream>

#include "shared/ci/ci_context.hpp"
#include "shared/cli/state_directory.hpp"
#include "shared/util/interrupt.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::cli {

namespace {

// The hidden option every argument past a command's own positional one lands in.
constexpr const char* kUnexpected = "unexpected-argument";

namespace po = boost::program_options;

constexpr const char* kVersion = PHOENIX_VERSION;  // from project() in CMakeLists.txt

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

// The Boost form of a command's own options.
void add_command_options(po::options_description& options, const Command& command) {
  for (const auto& spec : command.options) {
    const std::string name = spec.short_name != 0 ? spec.name + "," + spec.short_name : spec.name;
    const std::string help = spec.environment.empty() ? spec.help : spec.help + " (default: $" + spec.environment + ")";
    switch (spec.kind) {
      case OptionKind::flag:
        options.add_options()(name.c_str(), po::bool_switch(), help.c_str());
        break;
      case OptionKind::text:
        options.add_options()(name.c_str(), po::value<std::string>()->value_name(spec.value_name), help.c_str());
        break;
      case OptionKind::integer:
        options.add_options()(name.c_str(), po::value<long long>()->value_name(spec.value_name), help.c_str());
        break;
    }
  }
}

// The parsed values of a command's own options, with environment defaults filled in.
Arguments to_arguments(const Command& command, const po::variables_map& values, const ci::Environment& environment) {
  Arguments arguments;
  for (const auto& spec : command.options) {
    const bool given = values.count(spec.name) != 0 && !values[spec.name].defaulted();
    switch (spec.kind) {
      case OptionKind::flag:
        if (values.count(spec.name) != 0 && values[spec.name].as<bool>()) arguments.set_flag(spec.name);
        break;
      case OptionKind::text:
        if (given) {
          arguments.set_text(spec.name, values[spec.name].as<std::string>(), "--" + spec.name);
        } else if (const auto found = environment.find(spec.environment);
                   !spec.environment.empty() && found != environment.end() && !found->second.empty()) {
          arguments.set_text(spec.name, found->second, spec.environment);
        }
        break;
      case OptionKind::integer:
        if (given) arguments.set_integer(spec.name, values[spec.name].as<long long>());
        break;
    }
  }
  if (!command.positional.empty() && values.count(command.positional) != 0) {
    arguments.set_text(command.positional, values[command.positional].as<std::string>(), command.positional);
  }
  return arguments;
}

std::string version_text(const std::string& program) { return program + " " + kVersion + "\n"; }

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
  add_command_options(own, command);
  po::options_description common("Common options");
  add_common_options(common, command.output_option);
  std::ostringstream out;
  out << "Usage: " << program.name << " " << command.synopsis << " [options]\n\n" << command.details << "\n\n";
  if (!own.options().empty()) out << own << "\n";
  out << common << "\nExample:\n  " << command.example << "\n\n" << exit_code_help();
  return out.str();
}

// `no_color`: --no-color was given (NO_COLOR and a stderr that is no terminal turn colour off too).
void print_error(const std::string& program, const std::string& message, bool no_color = false) {
  const bool color = util::color_wanted(stderr, no_color);
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

bool has_no_color(const std::vector<std::string>& arguments) {
  return std::find(arguments.begin(), arguments.end(), "--no-color") != arguments.end();
}

// `word` as a shell reads it back: quoted when it holds anything but [A-Za-z0-9_./:=@%+,-].
std::string shell_word(const std::string& word) {
  const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("_./:=@%+,-").find(c) != std::string_view::npos;
  });
  if (plain) return word;
  std::string quoted = "'";
  for (const char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Why `arguments` (whose first is no command) name none, and the way on. Options given before
// the command get the command line written the way it is taken, where one word alone names a
// command (two could be a command and an option's value: which is which is not guessed).
std::string unknown_command(const Program& program, const std::vector<std::string>& arguments) {
  const std::string& first = arguments.front();
  const auto is_command = [&](const std::string& word) { return find_command(program, word) != nullptr; };
  const auto later = std::find_if(arguments.begin() + 1, arguments.end(), is_command);
  if (!first.starts_with("-") || later == arguments.end()) {
    return "unknown command '" + util::printable(first, 40) + "' (commands: " + command_names(program) + "; see '" +
           program.name + " --help')";
  }
  const std::string comes_first =
      "'" + util::printable(first, 40) + "' comes before the command; the command comes first";
  if (std::count_if(arguments.begin(), arguments.end(), is_command) > 1) {
    return comes_first + ", then its options (see '" + program.name + " --help')";
  }
  std::vector<std::string> reordered{program.name, *later};
  for (auto word = arguments.begin(); word != arguments.end(); ++word) {
    if (word != later) reordered.push_back(shell_word(util::printable(*word, 1000)));
  }
  return comes_first + ": " + util::join(reordered, " ");
}

int run_command(const Program& program, const Command& command, const std::vector<std::string>& arguments,
                const ci::Environment& environment, const RunHooks& hooks) {
  po::options_description options;
  po::options_description own;
  add_command_options(own, command);
  if (!command.positional.empty()) own.add_options()(command.positional.c_str(), po::value<std::string>());
  add_common_options(options, command.output_option);
  po::variables_map values;
  const std::string see = " (see '" + program.name + " " + command.name + " --help')";
  po::positional_options_description positional;
  if (!command.positional.empty()) positional.add(command.positional.c_str(), 1);
  // Collected, not refused by the parser, so the refusal can name the first one.
  own.add_options()(kUnexpected, po::value<std::vector<std::string>>());
  options.add(own);
  positional.add(kUnexpected, -1);
  // Asked for before the arguments are parsed: an error in them is printed as asked too.
  const bool no_color = has_no_color(arguments);
  const auto fail = [&](const std::string& message) {
    print_error(program.name, message, no_color);
    return 2;
  };
  try {
    const auto parsed = po::command_line_parser(arguments).options(options).positional(positional).run();
    // The hidden option is for words past the positional one, not one to be given by name.
    for (const auto& option : parsed.options) {
      if (option.string_key == kUnexpected && option.position_key < 0) {
        return fail("unrecognised option '" + util::printable(option.original_tokens.front(), 40) + "'" + see);
      }
    }
    po::store(parsed, values);
    po::notify(values);
  } catch (const po::error& error) {
    return fail(std::string(error.what()) + see);
  }
  if (values.count(kUnexpected) != 0) {
    return fail("unexpected argument '" +
                util::printable(values[kUnexpected].as<std::vector<std::string>>().front(), 40) + "': '" +
                command.name + "' takes " +
                (command.positional.empty() ? std::string("no arguments") : "one " + command.positional) +
                " besides its options, which start with --" + see);
  }
  if (values["help"].as<bool>()) {
    std::cout << command_help(program, command);
    return 0;
  }
  if (values["version"].as<bool>()) {
    std::cout << version_text(program.name);
    return 0;
  }
  GlobalOptions global;
  if (values.count("config") != 0) global.config = values["config"].as<std::string>();
  if (values["verbose"].as<bool>() && values["quiet"].as<bool>()) {
    return fail("--verbose and --quiet exclude each other" + see);
  }
  if (values["verbose"].as<bool>()) global.verbosity = util::Verbosity::verbose;
  if (values["quiet"].as<bool>()) global.verbosity = util::Verbosity::quiet;
  global.no_color = values["no-color"].as<bool>();
  if (command.output_option) {
    const auto format = values["output"].as<std::string>();
    if (format == "json") {
      global.output = OutputFormat::json;
    } else if (format != "table") {
      return fail("--output must be 'table' or 'json', not '" + util::printable(format, 40) + "'" + see);
    }
  }

  Runtime runtime(environment, global, hooks);
  CommandContext context(global, to_arguments(command, values, environment), runtime);
  const Status status = command.run(context);
  if (status.ok()) return 0;
  // A command that failed while the state directory refuses writes (read-only, full) says so,
  // with the key that sets it: its own error is often a bare errno line about one file there.
  const config::Config* config = runtime.loaded_config();
  print_error(program.name,
              config != nullptr && status.error().kind == ErrorKind::failed
                  ? with_state_directory_advice(status.error().message, *config)
                  : status.error().message,
              global.no_color);
  // Stopped by SIGINT, SIGTERM or SIGHUP at a safe point: the shell's convention, 128 + the signal.
  if (status.error().is(ErrorCode::interrupted) && util::interrupt_signal() != 0) return 128 + util::interrupt_signal();
  return exit_code_for(status.error().kind);
}

}  // namespace

int run_program(const Program& program, int argc, char** argv, const RunHooks& hooks) {
  ::signal(SIGPIPE, SIG_IGN);
  const ci::Environment environment = ci::current_environment();
  // Whatever path a secret might take to the output, it is masked there.
  for (const char* name : {"HCLOUD_TOKEN", "GOCD_TOKEN", "GOCD_PASSWORD", "JENKINS_TOKEN", "JENKINS_PASSWORD"}) {
    if (const auto found = environment.find(name); found != environment.end()) util::register_secret(found->second);
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
      std::cout << version_text(program.name);
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
      print_error(program.name, unknown_command(program, arguments), has_no_color(arguments));
      return 2;
    }
    return run_command(program, *command, {arguments.begin() + 1, arguments.end()}, environment, hooks);
  } catch (const std::exception& error) {
    print_error(program.name, std::string("internal error: ") + error.what());
    return 1;
  }
}

}  // namespace phoenix::cli
