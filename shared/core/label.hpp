#pragma once
// Release labels: `--label`, else GO_PIPELINE_LABEL (GoCD), else BUILD_NUMBER (Jenkins).

#include <optional>
#include <string>
#include <string_view>

#include "shared/util/result.hpp"

namespace phoenix {

// A label matches [A-Za-z0-9][A-Za-z0-9._-]{0,62}. `origin` says where it came from
// ("--label", "GO_PIPELINE_LABEL") for the error message.
Status validate_label(std::string_view label, std::string_view origin);

struct LabelSources {
  std::optional<std::string> option;         // --label
  std::optional<std::string> gocd_label;     // GO_PIPELINE_LABEL
  std::optional<std::string> jenkins_build;  // BUILD_NUMBER
};

// The first label present, validated; an `invalid` error when none is given.
Result<std::string> resolve_label(const LabelSources& sources);

}  // namespace phoenix
