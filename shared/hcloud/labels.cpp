#include "shared/hcloud/labels.hpp"

#include <cctype>

#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::hcloud {

std::string label_of(const Labels& labels, const std::string& key) {
  const auto found = labels.find(key);
  return found == labels.end() ? std::string() : found->second;
}

Labels labels_of(const cJSON* object) {
  Labels labels;
  const cJSON* label = nullptr;
  cJSON_ArrayForEach(label, cJSON_GetObjectItemCaseSensitive(object, "labels")) {
    if (cJSON_IsString(label) && label->string != nullptr) labels[label->string] = label->valuestring;
  }
  return labels;
}

std::string unix_ms_label(WallTime time) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count());
}

WallTime from_unix_ms_label(const std::string& value) {
  return WallTime(std::chrono::milliseconds(util::parse_int(value).value_or(0)));
}

std::string label_value(std::string_view text) {
  std::string value;
  bool replacing = false;  // within a run of characters a label value cannot hold
  for (char c : text) {
    if (value.size() == kMaxLabelValue) break;
    if (util::is_name_char(c)) {
      value += c;
      replacing = false;
    } else if (!replacing) {
      value += '_';  // one for the whole run: "a: b" -> "a_b", a UTF-8 character -> "_"
      replacing = true;
    }
  }
  while (!value.empty() && !util::is_ascii_alnum(value.front())) value.erase(value.begin());
  while (!value.empty() && !util::is_ascii_alnum(value.back())) value.pop_back();
  return value;
}

std::string server_name(std::string_view service, std::string_view label, int index) {
  std::string name;
  for (char c : std::string(service) + "-" + std::string(label) + "-" + std::to_string(index)) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    name += util::is_ascii_alnum(lower) ? lower : '-';
  }
  return name.substr(0, 63);
}

Labels pool_labels(std::string_view service, const PoolMetadata& meta, int index, int size) {
  Labels labels = {
      {kService, std::string(service)},
      {kLabel, meta.label},
      {kIndex, std::to_string(index)},
      {kSize, std::to_string(size)},
      {kCreated, unix_ms_label(meta.created_at)},
      {kSmoke, to_string(meta.smoke)},
      {kVerdict, to_string(meta.verdict)},
  };
  if (auto revision = label_value(meta.revision); !revision.empty()) labels[kRevision] = revision;
  if (auto by = label_value(meta.triggered_by); !by.empty()) labels[kBy] = by;
  if (auto reason = label_value(meta.verdict_reason); !reason.empty()) labels[kReason] = reason;
  if (auto by = label_value(meta.verdict_by); !by.empty()) labels[kVerdictBy] = by;
  if (meta.verdict_at) labels[kVerdictAt] = unix_ms_label(*meta.verdict_at);
  if (!meta.rebuild_of.empty()) labels[kRebuildOf] = meta.rebuild_of;
  if (meta.rebuild_source != RebuildSource::unflagged) labels[kRebuildSource] = to_string(meta.rebuild_source);
  if (meta.last_wake) {
    labels[kWakeFrom] = to_string(meta.last_wake->from);
    labels[kWakeMs] = std::to_string(meta.last_wake->ms);
    labels[kWakeAt] = unix_ms_label(meta.last_wake->at);
  }
  return labels;
}

PoolMetadata metadata_from_labels(const Labels& labels) {
  PoolMetadata meta;
  meta.label = label_of(labels, kLabel);
  meta.created_at = from_unix_ms_label(label_of(labels, kCreated));
  meta.revision = label_of(labels, kRevision);
  meta.triggered_by = label_of(labels, kBy);
  meta.smoke = parse_smoke_verdict(label_of(labels, kSmoke)).value_or(SmokeVerdict::pending);
  meta.verdict = parse_live_verdict(label_of(labels, kVerdict)).value_or(LiveVerdict::unknown);
  meta.verdict_reason = label_of(labels, kReason);
  meta.verdict_by = label_of(labels, kVerdictBy);
  if (const auto at = label_of(labels, kVerdictAt); util::parse_int(at)) meta.verdict_at = from_unix_ms_label(at);
  meta.rebuild_of = label_of(labels, kRebuildOf);
  // An unknown value counts as bad: never a rollback target of its own accord.
  const auto source = label_of(labels, kRebuildSource);
  meta.rebuild_source =
      source.empty() ? RebuildSource::unflagged : parse_rebuild_source(source).value_or(RebuildSource::marked_bad);
  const auto wake_from = parse_tier(label_of(labels, kWakeFrom));
  const auto wake_ms = util::parse_int(label_of(labels, kWakeMs));
  if (wake_from && wake_ms)
    meta.last_wake = WakeRecord{*wake_from, *wake_ms, from_unix_ms_label(label_of(labels, kWakeAt))};
  return meta;
}

std::string labels_json(const Labels& labels) {
  util::Json object(cJSON_CreateObject());
  for (const auto& [key, value] : labels) util::add_string(object.get(), key.c_str(), value);
  return util::print_json(object.get());
}

}  // namespace phoenix::hcloud
