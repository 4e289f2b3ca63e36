#include "tools/arguments.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

namespace phoenix::tools {

namespace {

std::optional<long long> whole_number(const std::string& text) {
  long long value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

// Accepts a whole number in [minimum, maximum] and hands it to `store`.
std::function<std::string(const std::string&)> whole_number_between(const std::string& name, long long minimum,
                                                                    long long maximum,
                                                                    std::function<void(long long)> store) {
  return [=](const std::string& value) {
    const auto parsed = whole_number(value);
    if (!parsed || *parsed < minimum || *parsed > maximum) {
      return name + " takes a whole number from " + std::to_string(minimum) + " to " + std::to_string(maximum) +
             ", not '" + value + "'";
    }
    store(*parsed);
    return std::string();
  };
}

}  // namespace

Arguments::Arguments(std::string program, std::string usage) : program_(std::move(program)), usage_(std::move(usage)) {}

Arguments& Arguments::add(Option option) {
  options_.push_back(std::move(option));
  return *this;
}

Arguments::Option* Arguments::find(const std::string& name) {
  for (auto& option : options_) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

Arguments& Arguments::text(const std::string& name, std::string& target, bool required) {
  return custom(
      name,
      [&target](const std::string& value) {
        target = value;
        return std::string();
      },
      required);
}

Arguments& Arguments::number(const std::string& name, long long& target, long long minimum, long long maximum) {
  return custom(name, whole_number_between(name, minimum, maximum, [&target](long long value) { target = value; }));
}

Arguments& Arguments::number(const std::string& name, int& target, int minimum, int maximum) {
  return custom(name, whole_number_between(name, minimum, maximum,
                                           [&target](long long value) { target = static_cast<int>(value); }));
}

Arguments& Arguments::choice(const std::string& name, std::string& target, std::vector<std::string> choices,
                             bool required) {
  return custom(
      name,
      [&target, name, choices = std::move(choices)](const std::string& value) {
        std::string listed;
        for (const auto& choice : choices) {
          if (choice == value) {
            target = value;
            return std::string();
          }
          listed += (listed.empty() ? "" : "|") + choice;
        }
        return name + " takes " + listed + ", not '" + value + "'";
      },
      required);
}

Arguments& Arguments::custom(const std::string& name, std::function<std::string(const std::string&)> accept,
                             bool required) {
  return add({name, true, required, std::move(accept)});
}

Arguments& Arguments::flag(const std::string& name, bool& target) {
  return add({name, false, false, [&target](const std::string&) {
                target = true;
                return std::string();
              }});
}

ParseOutcome Arguments::invalid(std::string problem) {
  problem_ = std::move(problem);
  return ParseOutcome::invalid;
}

ParseOutcome Arguments::try_parse(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || name == "-h") return ParseOutcome::help;
    Option* option = find(name);
    if (option == nullptr) {
      return invalid(name.rfind('-', 0) == 0 ? "unknown option " + name : "unexpected argument '" + name + "'");
    }
    if (option->seen) return invalid(name + " is given twice");
    option->seen = true;
    std::string value;
    if (option->takes_value) {
      if (i + 1 >= argc) return invalid(name + " needs a value");
      value = argv[++i];
    }
    if (auto problem = option->accept(value); !problem.empty()) return invalid(problem);
  }
  for (const auto& option : options_) {
    if (option.required && !option.seen) return invalid(option.name + " is required");
  }
  return ParseOutcome::parsed;
}

void Arguments::parse(int argc, const char* const* argv) {
  switch (try_parse(argc, argv)) {
    case ParseOutcome::parsed:
      return;
    case ParseOutcome::help:
      std::fputs(usage_.c_str(), stdout);
      std::exit(0);
    case ParseOutcome::invalid:
      fail(problem_);
  }
}

void Arguments::fail(const std::string& problem) const {
  std::fprintf(stderr, "%s: %s (see --help)\n", program_.c_str(), problem.c_str());
  std::exit(2);
}

}  // namespace phoenix::tools
