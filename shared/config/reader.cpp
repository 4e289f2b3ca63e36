#include "shared/config/reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::config {

namespace {

// One open object or array while walking the text: an object's key last seen, an array's
// element index.
struct OpenContainer {
  bool array = false;
  std::size_t index = 0;
  std::string key;
};

// The key path of a key read in the innermost open object: "notify[0]" + "." + "type".
std::string path_of_key(const std::vector<OpenContainer>& open, std::string_view key) {
  std::string path;
  for (std::size_t i = 0; i + 1 < open.size(); ++i) {
    if (open[i].array) {
      path += "[" + std::to_string(open[i].index) + "]";
    } else {
      path += (path.empty() ? "" : ".") + open[i].key;
    }
  }
  return path + (path.empty() ? "" : ".") + std::string(key);
}

// Where a key is in the text: its line, and where its value starts.
struct KeyPlace {
  std::size_t line = 1;
  std::size_t value = 0;  // the offset of the character after the key's ':'
};

// The place of the key at `path` ("notify[0].type", "balancer.check.interval_ms") in the JSON
// `text`, found by walking its structure, so a key that occurs in several objects ("type",
// "interval_ms") still gets the right line; nothing when it is not there (or the text is not
// JSON this walk understands).

std::optional<KeyPlace> find_key_path(std::string_view text, std::string_view path, int skip = 0) {
  std::vector<OpenContainer> open;
  std::size_t line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
    } else if (c == '{' || c == '[') {
      open.push_back({.array = c == '['});
    } else if (c == '}' || c == ']') {
      if (open.empty()) return std::nullopt;
      open.pop_back();
    } else if (c == ',' && !open.empty() && open.back().array) {
      ++open.back().index;
    } else if (c == '"') {
      const std::size_t start = i + 1;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
      if (i >= text.size()) return std::nullopt;
      const auto key = text.substr(start, i - start);
      const auto after = text.find_first_not_of(" \t\r\n", i + 1);
      if (open.empty() || open.back().array || after == std::string_view::npos || text[after] != ':') continue;
      open.back().key = std::string(key);
      if (path_of_key(open, key) == path && skip-- == 0) return KeyPlace{.line = line, .value = after + 1};
    }
  }
  return std::nullopt;
}

// Whether a JSON string escape at `text[at]` (the backslash) is \u0000.
bool is_nul_escape(std::string_view text, std::size_t at) { return text.substr(at, 6) == "\\u0000"; }

// Whether the value starting at `from` (a string, or an array of them) holds a \u0000 escape:
// cJSON ends its C string there, so the value read would silently lose what follows.
bool value_holds_nul(std::string_view text, std::size_t from) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = from; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        if (is_nul_escape(text, i)) return true;
        ++i;
      } else if (c == '"') {
        in_string = false;
        if (depth == 0) return false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (--depth <= 0) return false;
    } else if (depth == 0 && c == ',') {
      return false;
    }
  }
  return false;
}

// The line of `"key":` when it occurs exactly once in the text.
std::optional<std::size_t> line_of_unique_key(std::string_view text, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\"";
  std::size_t position = 0;
  int occurrences = 0;
  std::size_t found_at = 0;
  while ((position = text.find(needle, position)) != std::string_view::npos) {
    const auto after = text.find_first_not_of(" \t\r\n", position + needle.size());
    if (after != std::string_view::npos && text[after] == ':') {
      ++occurrences;
      found_at = position;
    }
    position += needle.size();
  }
  if (occurrences != 1) return std::nullopt;
  const auto before = text.substr(0, found_at);
  return 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
}

}  // namespace

bool Source::holds_nul(std::string_view key_path) const {
  if (text.find("\\u0000") == std::string_view::npos) return false;  // the usual case, at once
  const auto place = find_key_path(text, key_path);
  return place && value_holds_nul(text, place->value);
}

Error Source::error_at(std::string_view key_path, const std::string& message) const {
  std::optional<std::size_t> line;
  if (!key_path.empty()) {
    if (const auto place = find_key_path(text, key_path)) line = place->line;
    // The last component of the path is what appears in the text as "key":.
    if (!line) {
      const auto dot = key_path.rfind('.');
      const auto leaf = dot == std::string_view::npos ? key_path : key_path.substr(dot + 1);
      line = line_of_unique_key(text, leaf.substr(0, leaf.find('[')));
    }
  }
  std::string where = file;
  if (line) where += ":" + std::to_string(*line);
  return {ErrorKind::invalid, where + ": " + message};
}

Error Source::error_at_second(std::string_view key_path, const std::string& message) const {
  const auto place = find_key_path(text, key_path, 1);
  return {ErrorKind::invalid, file + (place ? ":" + std::to_string(place->line) : std::string()) + ": " + message};
}

ObjectReader::ObjectReader(const Source& source, const cJSON* node, std::string path)
    : source_(&source), node_(node), path_(std::move(path)) {}

std::string ObjectReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void ObjectReader::record(std::string_view key, const std::string& message) {
  if (first_error_) return;
  first_error_ = source_->error_at(key, message);
}

void ObjectReader::fail(const char* key, const std::string& message) { fail_at(key_path(key), message); }

void ObjectReader::fail_at(const std::string& key_path, const std::string& message) {
  record(key_path, key_path + ": " + message);
}

void ObjectReader::adopt(const Status& nested) {
  if (!nested.ok() && !first_error_) first_error_ = nested.error();
}

void ObjectReader::accept_rest() {
  const cJSON* item = nullptr;
  cJSON_ArrayForEach(item, node_) {
    if (item->string != nullptr) read_.insert(item->string);
  }
}

bool ObjectReader::has(const char* key) const { return cJSON_GetObjectItemCaseSensitive(node_, key) != nullptr; }

std::vector<std::string> ObjectReader::keys() const {
  std::vector<std::string> keys;
  const cJSON* item = nullptr;
  cJSON_ArrayForEach(item, node_) {
    if (item->string != nullptr) keys.emplace_back(item->string);
  }
  return keys;
}

const cJSON* ObjectReader::lookup(const char* key, bool required) {
  read_.insert(key);
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(node_, key);
  if (item == nullptr && required) {
    record(path_.empty() ? std::string_view() : std::string_view(path_),
           "missing required key '" + key_path(key) + "'");
  }
  return item;
}

namespace {
std::string got(const cJSON* item) { return std::string("got ") + util::json_type_name(item); }
// cJSON keeps strings as C strings: a \u0000 would end the value there, silently.
constexpr const char* kHoldsNul = "the value holds a NUL character (\\u0000)";
}  // namespace

std::optional<std::string> ObjectReader::string(const char* key, bool required, std::string_view rule) {
  const cJSON* item = lookup(key, required);
  if (item == nullptr) return std::nullopt;
  if (!cJSON_IsString(item)) {
    fail(key, "expected a string, " + got(item));
    return std::nullopt;
  }
  if (source_->holds_nul(key_path(key))) {
    fail(key, std::string(kHoldsNul) + (rule.empty() ? "" : "; it must be " + std::string(rule)));
    return std::nullopt;
  }
  const std::string value = item->valuestring;
  if (!util::is_valid_utf8(value)) {
    fail(key, "the value is not valid UTF-8");
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> ObjectReader::integer(const char* key, bool required, std::int64_t min, std::int64_t max) {
  const cJSON* item = lookup(key, required);
  if (item == nullptr) return std::nullopt;
  const auto range = "between " + std::to_string(min) + " and " + std::to_string(max);
  if (!cJSON_IsNumber(item)) {
    fail(key, "expected a whole number " + range + ", " + got(item));
    return std::nullopt;
  }
  const double value = item->valuedouble;
  if (!std::isfinite(value) || std::floor(value) != value) {
    fail(key, "expected a whole number " + range + ", got a fraction");
    return std::nullopt;
  }
  if (value < static_cast<double>(min) || value > static_cast<double>(max)) {
    char shown[64];
    std::snprintf(shown, sizeof shown, "%.0f", value);
    fail(key, "expected a whole number " + range + ", got " + shown);
    return std::nullopt;
  }
  return static_cast<std::int64_t>(value);
}

std::optional<double> ObjectReader::number(const char* key, bool required, double min, double max) {
  const cJSON* item = lookup(key, required);
  if (item == nullptr) return std::nullopt;
  char range[96];
  std::snprintf(range, sizeof range, "a number between %g and %g", min, max);
  if (!cJSON_IsNumber(item)) {
    fail(key, std::string("expected ") + range + ", " + got(item));
    return std::nullopt;
  }
  const double value = item->valuedouble;
  if (!std::isfinite(value) || value < min || value > max) {
    char shown[64];
    std::snprintf(shown, sizeof shown, "%g", value);
    fail(key, std::string("expected ") + range + ", got " + shown);
    return std::nullopt;
  }
  return value;
}

std::optional<bool> ObjectReader::boolean(const char* key, bool required) {
  const cJSON* item = lookup(key, required);
  if (item == nullptr) return std::nullopt;
  if (!cJSON_IsBool(item)) {
    fail(key, "expected true or false, " + got(item));
    return std::nullopt;
  }
  return cJSON_IsTrue(item) != 0;
}

std::optional<std::vector<std::string>> ObjectReader::string_array(const char* key, bool required, bool allow_empty) {
  const cJSON* item = lookup(key, required);
  if (item == nullptr) return std::nullopt;
  if (!cJSON_IsArray(item)) {
    fail(key, "expected an array of strings, " + got(item));
    return std::nullopt;
  }
  if (source_->holds_nul(key_path(key))) {
    fail(key, "an element holds a NUL character (\\u0000)");
    return std::nullopt;
  }
  std::vector<std::string> values;
  const cJSON* element = nullptr;
  cJSON_ArrayForEach(element, item) {
    if (!cJSON_IsString(element)) {
      fail(key, "expected an array of strings, element " + std::to_string(values.size()) + " is " +
                    util::json_type_name(element));
      return std::nullopt;
    }
    if (!util::is_valid_utf8(element->valuestring)) {
      fail(key, "element " + std::to_string(values.size()) + " is not valid UTF-8");
      return std::nullopt;
    }
    values.emplace_back(element->valuestring);
  }
  if (values.empty() && !allow_empty) {
    fail(key, "must not be empty");
    return std::nullopt;
  }
  return values;
}

std::optional<ObjectReader> ObjectReader::object(const char* key, bool required) {
  const cJSON* item = lookup(key, required);
  if (item == nullptr) return std::nullopt;
  if (!cJSON_IsObject(item)) {
    fail(key, "expected an object, " + got(item));
    return std::nullopt;
  }
  return ObjectReader(*source_, item, key_path(key));
}

std::optional<std::vector<ObjectReader>> ObjectReader::object_array(const char* key, bool required) {
  const cJSON* item = lookup(key, required);
  if (item == nullptr) return std::nullopt;
  if (!cJSON_IsArray(item)) {
    fail(key, "expected an array of objects, " + got(item));
    return std::nullopt;
  }
  std::vector<ObjectReader> readers;
  const cJSON* element = nullptr;
  cJSON_ArrayForEach(element, item) {
    const auto path = key_path(key) + "[" + std::to_string(readers.size()) + "]";
    if (!cJSON_IsObject(element)) {
      record(path, path + ": expected an object, " + got(element));
      return std::nullopt;
    }
    readers.emplace_back(*source_, element, path);
  }
  return readers;
}

namespace {
// Edit distance, for "did you mean": keys are short, so the quadratic table is fine.
std::size_t distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}
}  // namespace

// Unknown keys come first: a misspelt key is the likely cause of a "missing" one.
Status ObjectReader::finish() {
  const cJSON* item = nullptr;
  std::set<std::string> seen;
  cJSON_ArrayForEach(item, node_) {
    const std::string key = item->string != nullptr ? item->string : "";
    if (!seen.insert(key).second) {
      return source_->error_at_second(key_path(key), "key '" + key_path(util::printable(key, 60)) + "' appears twice");
    }
    if (read_.count(key) != 0) continue;
    std::vector<std::string> known(read_.begin(), read_.end());
    const auto shown_key = util::printable(key, 60);
    for (const auto& candidate : known) {
      if (distance(key, candidate) <= 2) {
        return source_->error_at(key_path(key),
                                 "unknown key '" + key_path(shown_key) + "'; did you mean '" + candidate + "'?");
      }
    }
    return source_->error_at(
        key_path(key), "unknown key '" + key_path(shown_key) + "' (known keys here: " + util::join(known, ", ") + ")");
  }
  if (first_error_) return *first_error_;
  return {};
}

}  // namespace phoenix::config
