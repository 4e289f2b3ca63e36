#pragma once
// How Phoenix keeps pool metadata in Hetzner Cloud labels, so every CI agent sees it. Label
// values are at most 63 characters of [A-Za-z0-9._-], starting and ending alphanumeric.

#include <map>
#include <string>
#include <string_view>

#include "shared/core/pool.hpp"
#include "shared/util/json.hpp"

namespace phoenix::hcloud {

inline constexpr const char* kService = "phoenix-service";
inline constexpr const char* kLabel = "phoenix-label";
inline constexpr const char* kIndex = "phoenix-index";
inline constexpr const char* kSize = "phoenix-size";
inline constexpr const char* kCreated = "phoenix-created";  // unix milliseconds
inline constexpr const char* kRevision = "phoenix-revision";
inline constexpr const char* kBy = "phoenix-by";
inline constexpr const char* kSmoke = "phoenix-smoke";
inline constexpr const char* kVerdict = "phoenix-verdict";
inline constexpr const char* kReason = "phoenix-reason";
inline constexpr const char* kVerdictBy = "phoenix-verdict-by";  // who gave the verdict
inline constexpr const char* kVerdictAt = "phoenix-verdict-at";  // when (unix milliseconds)
inline constexpr const char* kRebuildOf = "phoenix-rebuild-of";
inline constexpr const char* kRebuildSource = "phoenix-rebuild-source";
inline constexpr const char* kWakeFrom = "phoenix-wake-from";  // the tier of the last wake
inline constexpr const char* kWakeMs = "phoenix-wake-ms";      // how long it took
inline constexpr const char* kWakeAt = "phoenix-wake-at";      // when (unix milliseconds)

using Labels = std::map<std::string, std::string>;

// The value of `key`, or "" when the object has no such label.
std::string label_of(const Labels& labels, const std::string& key);
// The "labels" of an API object (a server, a placement group).
Labels labels_of(const cJSON* object);
// A time as a label value (unix milliseconds), and back; an unreadable value is the epoch.
std::string unix_ms_label(WallTime time);
WallTime from_unix_ms_label(const std::string& value);

inline constexpr std::size_t kMaxLabelValue = 63;

// A valid label value carrying as much of `text` as fits: each run of characters outside
// [A-Za-z0-9._-] (spaces, punctuation, any non-ASCII character) becomes one '_', the result is
// cut to kMaxLabelValue characters and trimmed to start and end alphanumeric. Free text
// (a verdict's reason, a holder's command) is stored so; history keeps it whole
// (docs/hcloud.md, "Free text in labels").
std::string label_value(std::string_view text);

// A server name Hetzner accepts (a hostname): "<service>-<label>-<index>", lower case.
std::string server_name(std::string_view service, std::string_view label, int index);

// The labels of one server of a pool (index 1..size), or of its snapshot (index 0): identity
// plus metadata.
Labels pool_labels(std::string_view service, const PoolMetadata& meta, int index, int size);
// The metadata a server's labels carry (label and verdicts; free text is what survived).
PoolMetadata metadata_from_labels(const Labels& labels);
// The labels as the JSON object the API's "labels" fields take.
std::string labels_json(const Labels& labels);

}  // namespace phoenix::hcloud
