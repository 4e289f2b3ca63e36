#include "shared/hcloud/labels.hpp"

#include <cctype>

#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::hcloud {

namespace {
bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
}  // namespace

std::string label_value(std::string_view text) {
  std::string value;
  for (char c : text) {
    if (value.size() == 63) break;
    value += (alnum(c) || c == '.' || c == '_' || c == '-') ? c : '_';
  }
  while (!value.empty() && !alnum(value.front())) value.erase(value.begin());
  while (!value.empty() && !alnum(value.back())) value.pop_back();
  return value;
}

std::string server_name(std::string_view service, std::string_view label, int index) {
  std::string name;
  for (char c : std::string(service) + "-" + std::string(label) + "-" + std::to_string(index)) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    name += alnum(lower) ? lower : '-';
  }
  return name.substr(0, 63);
}

Labels pool_labels(std::string_view service, const PoolMetadata& meta, int index, int size) {
  const auto created_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(meta.created_at.time_since_epoch()).count();
  Labels labels = {
      {kService, std::string(service)},       {kLabel, meta.label},
      {kIndex, std::to_string(index)},        {kSize, std::to_string(size)},
      {kCreated, std::to_string(created_ms)}, {kSmoke, to_string(meta.smoke)},
      {kVerdict, to_string(meta.verdict)},
  };
  if (auto revision = label_value(meta.revision); !revision.empty()) labels[kRevision] = revision;
  if (auto by = label_value(meta.triggered_by); !by.empty()) labels[kBy] = by;
  if (auto reason = label_value(meta.verdict_reason); !reason.empty()) labels[kReason] = reason;
  return labels;
}

PoolMetadata metadata_from_labels(const Labels& labels) {
  const auto get = [&](const char* key) {
    const auto found = labels.find(key);
    return found == labels.end() ? std::string() : found->second;
  };
  PoolMetadata meta;
  meta.label = get(kLabel);
  meta.created_at = WallTime(std::chrono::milliseconds(util::parse_int(get(kCreated)).value_or(0)));
  meta.revision = get(kRevision);
  meta.triggered_by = get(kBy);
  meta.smoke = parse_smoke_verdict(get(kSmoke)).value_or(SmokeVerdict::pending);
  meta.verdict = parse_live_verdict(get(kVerdict)).value_or(LiveVerdict::unknown);
  meta.verdict_reason = get(kReason);
  return meta;
}

std::string labels_json(const Labels& labels) {
  util::Json object(cJSON_CreateObject());
  for (const auto& [key, value] : labels) util::add_string(object.get(), key.c_str(), value);
  return util::print_json(object.get());
}

}  // namespace phoenix::hcloud
