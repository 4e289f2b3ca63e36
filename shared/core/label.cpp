#include "shared/core/label.hpp"

#include "shared/util/strings.hpp"

namespace phoenix {

Status validate_label(std::string_view label, std::string_view origin) {
  const std::string where(origin);
  const auto refuse = [&](const std::string& why) {
    return Error{ErrorKind::invalid, "invalid label '" + util::printable(label, 80) + "' from " + where + ": " + why +
                                         " (a label is 1-63 of A-Z a-z 0-9 . _ -, starting with a letter "
                                         "or digit)"};
  };
  if (label.empty()) return refuse("it is empty");
  if (label.size() > 63) return refuse("it is " + std::to_string(label.size()) + " characters long");
  if (!util::is_ascii_alnum(label.front())) return refuse("it must start with a letter or digit");
  for (char c : label) {
    if (!util::is_name_char(c)) {
      const auto shown = util::printable(std::string_view(&c, 1));
      return refuse("character '" + shown + "' is not allowed");
    }
  }
  return {};
}

Result<std::string> resolve_label(const LabelSources& sources) {
  const std::pair<const std::optional<std::string>*, const char*> candidates[] = {
      {&sources.option, "--label"},
      {&sources.gocd_label, "GO_PIPELINE_LABEL"},
      {&sources.jenkins_build, "BUILD_NUMBER"},
  };
  for (const auto& [value, origin] : candidates) {
    if (!value->has_value()) continue;
    PHX_TRY(validate_label(**value, origin));
    return **value;
  }
  return Error{ErrorKind::invalid,
               "no release label: pass --label L, or run under GoCD (GO_PIPELINE_LABEL) or Jenkins (BUILD_NUMBER)"};
}

}  // namespace phoenix
