#include "shared/ci/snapshot.hpp"

#include <algorithm>

#include "shared/util/strings.hpp"

namespace phoenix::ci {

SnapshotChange diff(const Snapshot& before, const Snapshot& after) {
  SnapshotChange change;
  for (const auto& [path, content] : after) {
    const auto found = before.find(path);
    if (found == before.end()) {
      change.added.push_back(path);
    } else if (found->second != content) {
      change.modified.push_back(path);
    }
  }
  for (const auto& [path, content] : before) {
    if (after.count(path) == 0) change.removed.push_back(path);
  }
  return change;
}

std::string commit_message(const std::string& source, const SnapshotChange& change) {
  std::string message = "ci-config backup from " + source + ": " + std::to_string(change.added.size()) + " added, " +
                        std::to_string(change.modified.size()) + " changed, " + std::to_string(change.removed.size()) +
                        " removed\n\n";
  for (const auto& path : change.added) message += "added    " + path + "\n";
  for (const auto& path : change.modified) message += "changed  " + path + "\n";
  for (const auto& path : change.removed) message += "removed  " + path + "\n";
  return message;
}

std::string gocd_pipeline_path(std::string_view name) {
  return std::string(kGocdPipelinesDir) + "/" + std::string(name) + ".gocd.yaml";
}

std::string jenkins_job_path(std::string_view name) {
  return std::string(kJenkinsJobsDir) + "/" + std::string(name) + "/config.xml";
}

bool safe_name(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 200) return false;
  return std::all_of(name.begin(), name.end(), util::is_name_char);
}

std::string mask_clear_secrets(std::string_view xml, int& masked) {
  static const char* const kSecretElements[] = {"password", "secret", "token", "passphrase", "apiToken", "privateKey"};
  std::string out(xml);
  for (const char* element : kSecretElements) {
    const std::string open = "<" + std::string(element) + ">";
    const std::string close = "</" + std::string(element) + ">";
    std::size_t position = 0;
    while ((position = out.find(open, position)) != std::string::npos) {
      const std::size_t start = position + open.size();
      const std::size_t end = out.find(close, start);
      if (end == std::string::npos) break;
      const std::string_view value = util::trim(std::string_view(out).substr(start, end - start));
      // Jenkins stores secrets encrypted with its master key as "{AQAAABAAAA...}".
      const bool encrypted = value.size() > 2 && value.front() == '{' && value.back() == '}';
      if (!value.empty() && !encrypted && value != "****") {
        out.replace(start, end - start, "****");
        ++masked;
      }
      position = start;
    }
  }
  return out;
}

}  // namespace phoenix::ci
