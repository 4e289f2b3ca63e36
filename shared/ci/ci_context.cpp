#include "shared/ci/ci_context.hpp"

#include <unistd.h>  // environ

namespace phoenix::ci {

namespace {
std::optional<std::string> lookup(const Environment& environment, const std::string& name) {
  const auto found = environment.find(name);
  if (found == environment.end() || found->second.empty()) return std::nullopt;
  return found->second;
}
}  // namespace

std::string sanitize_identifier(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool keep =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    out += keep ? c : '-';
  }
  return out;
}

CiContext read_ci_context(const Environment& environment) {
  CiContext context;
  const auto get = [&](const char* name) { return lookup(environment, name); };
  context.label.gocd_label = get("GO_PIPELINE_LABEL");
  context.label.jenkins_build = get("BUILD_NUMBER");

  if (get("GO_PIPELINE_NAME") || get("GO_SERVER_URL")) {
    context.system = System::gocd;
    context.job = get("GO_PIPELINE_NAME").value_or("?") + "/" + get("GO_PIPELINE_COUNTER").value_or("?") + "/" +
                  get("GO_STAGE_NAME").value_or("?") + "/" + get("GO_STAGE_COUNTER").value_or("?") + "/" +
                  get("GO_JOB_NAME").value_or("?");
  } else if (get("JENKINS_URL") || get("BUILD_TAG")) {
    context.system = System::jenkins;
    context.job = sanitize_identifier(
        get("BUILD_TAG").value_or(get("JOB_NAME").value_or("job") + "-" + get("BUILD_NUMBER").value_or("?")));
  }

  if (auto revision = get("GO_REVISION")) {
    context.revision = *revision;
  } else {
    // GO_REVISION_<MATERIAL> when the pipeline has several materials: the first by name.
    for (const auto& [name, value] : environment) {
      if (name.rfind("GO_REVISION_", 0) == 0 && !value.empty()) {
        context.revision = value;
        break;
      }
    }
    if (context.revision.empty()) context.revision = get("GIT_COMMIT").value_or("");
  }

  context.trigger_user = get("GO_TRIGGER_USER").value_or(get("BUILD_USER").value_or(get("USER").value_or("")));
  return context;
}

Environment current_environment() {
  Environment environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string::npos) continue;
    environment.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return environment;
}

}  // namespace phoenix::ci
