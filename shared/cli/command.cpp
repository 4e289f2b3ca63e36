#include "shared/cli/command.hpp"

#include <cstdio>

#include "shared/cli/runtime.hpp"
#include "shared/core/label.hpp"
#include "shared/util/redact.hpp"

namespace phoenix::cli {

std::optional<std::string> Arguments::text(std::string_view name) const {
  const auto found = texts_.find(name);
  if (found == texts_.end()) return std::nullopt;
  return found->second;
}

std::optional<long long> Arguments::integer(std::string_view name) const {
  const auto found = integers_.find(name);
  if (found == integers_.end()) return std::nullopt;
  return found->second;
}

bool Arguments::flag(std::string_view name) const { return flags_.count(name) != 0; }

std::string Arguments::origin(std::string_view name) const {
  const auto found = origins_.find(name);
  return found != origins_.end() ? found->second : "--" + std::string(name);
}

void Arguments::set_text(const std::string& name, std::string value, std::string origin) {
  texts_[name] = std::move(value);
  origins_[name] = std::move(origin);
}

void Arguments::set_integer(const std::string& name, long long value) { integers_[name] = value; }

void Arguments::set_flag(const std::string& name) { flags_.insert(name); }

CommandContext::CommandContext(GlobalOptions global, Arguments arguments, Runtime& runtime)
    : global_(std::move(global)), arguments_(std::move(arguments)), runtime_(runtime) {}

Result<ops::Services*> CommandContext::services() { return runtime_.services(global_.config); }

util::Reporter& CommandContext::reporter() { return runtime_.reporter(); }

HttpClient& CommandContext::http() { return runtime_.http(); }

Result<ci::Credentials> CommandContext::ci_credentials(ci::System system) const {
  return runtime_.ci_credentials(system);
}

Result<std::string> CommandContext::label() const {
  auto sources = ci::read_ci_context(runtime_.environment()).label;
  sources.option = arguments_.text("label");
  return resolve_label(sources);
}

void CommandContext::print(const std::string& text) const {
  const std::string safe = util::redact(text);
  std::fwrite(safe.data(), 1, safe.size(), stdout);
  std::fflush(stdout);
}

OptionSpec label_option(bool required) {
  return {.name = "label",
          .short_name = 'l',
          .kind = OptionKind::text,
          .value_name = "L",
          .help = required ? "release label of the pool (required)"
                           : "release label (default: GO_PIPELINE_LABEL, else BUILD_NUMBER)"};
}

OptionSpec dry_run_option(const std::string& help) { return {.name = "dry-run", .help = help}; }

OptionSpec break_lock_option() {
  return {.name = "break-lock", .help = "take over a stale deploy lock (its holder is gone or too old)"};
}

}  // namespace phoenix::cli
