#pragma once
// What the CI server tells a task through its environment. GoCD exec tasks do not expand
// $VARS in arguments, so the tools read the variables themselves.

#include <map>
#include <optional>
#include <string>

#include "shared/ci/ci_servers.hpp"
#include "shared/core/label.hpp"

namespace phoenix::ci {

using Environment = std::map<std::string, std::string>;

struct CiContext {
  std::optional<System> system;  // nothing when run by hand
  LabelSources label;            // GO_PIPELINE_LABEL / BUILD_NUMBER (the option is filled in later)
  std::string revision;          // GO_REVISION, GO_REVISION_<MATERIAL>, GIT_COMMIT
  std::string trigger_user;      // GO_TRIGGER_USER, BUILD_USER, else USER
  std::string job;               // the job identity shown by the lock and history
};

CiContext read_ci_context(const Environment& environment);

// The process environment as a map.
Environment current_environment();

// Jenkins' BUILD_TAG is not cleaned of odd characters: keep [A-Za-z0-9._-], map others to '-'.
std::string sanitize_identifier(const std::string& text);

}  // namespace phoenix::ci
