#pragma once
// The one command-line parser of the test tools (phoenix-sample-app, phoenix-prober,
// phoenix-hcloud-fake, phoenix-ci-fake). Deliberately tiny and strict: every option is
// `--name VALUE` or a `--flag`, each at most once; anything else (an unknown option, a missing
// or malformed value, a stray word, a missing required option) is one line on stderr,
// "<program>: <problem> (see --help)", and exit 2. `--help` prints the usage to stdout, exit 0.
// Standard library only, so the sample app stays free of the phoenix library.

#include <functional>
#include <string>
#include <vector>

namespace phoenix::tools {

enum class ParseOutcome { parsed, help, invalid };

class Arguments {
 public:
  // `usage`: the whole --help text, starting with a "usage: ..." line.
  Arguments(std::string program, std::string usage);

  // --name VALUE into `target`; `required` options must be given.
  Arguments& text(const std::string& name, std::string& target, bool required = false);
  // --name N, a whole number in [minimum, maximum].
  Arguments& number(const std::string& name, long long& target, long long minimum, long long maximum);
  Arguments& number(const std::string& name, int& target, int minimum, int maximum);
  // --name VALUE into `target` when VALUE is one of `choices`.
  Arguments& choice(const std::string& name, std::string& target, std::vector<std::string> choices,
                    bool required = false);
  // --name VALUE handed to `accept`, which returns a problem ("" when the value is fine).
  Arguments& custom(const std::string& name, std::function<std::string(const std::string&)> accept,
                    bool required = false);
  // --name, no value.
  Arguments& flag(const std::string& name, bool& target);

  // Fills the targets from argv[1..argc). On `invalid`, problem() says what is wrong.
  ParseOutcome try_parse(int argc, const char* const* argv);
  // try_parse, then --help: usage on stdout, exit 0; a problem: one line on stderr, exit 2.
  void parse(int argc, const char* const* argv);
  // For checks that span options, after parse(): one line on stderr, exit 2.
  [[noreturn]] void fail(const std::string& problem) const;

  const std::string& problem() const { return problem_; }

 private:
  struct Option {
    std::string name;
    bool takes_value = true;
    bool required = false;
    std::function<std::string(const std::string&)> accept;  // returns a problem, "" when fine
    bool seen = false;
  };
  Arguments& add(Option option);
  Option* find(const std::string& name);
  ParseOutcome invalid(std::string problem);

  std::string program_;
  std::string usage_;
  std::vector<Option> options_;
  std::string problem_;
};

}  // namespace phoenix::tools
