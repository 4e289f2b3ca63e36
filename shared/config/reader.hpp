#pragma once
// Typed, strict reading of one JSON object of a configuration file: every error names the
// file, the key path and, where the key can be found in the text, the line. Keys that were
// not read are refused by finish(), so a typo never passes silently.

#include <cjson/cJSON.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "shared/util/result.hpp"

namespace phoenix::config {

// Where errors point: the file name and its text (to find the line of a key).
struct Source {
  std::string file;
  std::string_view text;

  // "web.json:12: <message>" with the line of the key at `key_path` ("notify[0].type"), found by
  // the structure of the text, else by its last component when that occurs once; else
  // "web.json: <message>".
  Error error_at(std::string_view key_path, const std::string& message) const;
  // The same at the second occurrence of the key at `key_path` (a duplicate key), found by the
  // structure of the text only; else "web.json: <message>".
  Error error_at_second(std::string_view key_path, const std::string& message) const;
  // Whether the value of the key at `key_path` holds a \u0000 escape (which cJSON's C strings
  // would cut the value at).
  bool holds_nul(std::string_view key_path) const;
};

class ObjectReader {
 public:
  // `node` must be an object; `path` is its key path ("" for the root, "provider").
  ObjectReader(const Source& source, const cJSON* node, std::string path);

  bool has(const char* key) const;
  // The keys of this object, in the order of the file (for objects whose keys are data).
  std::vector<std::string> keys() const;
  // Required or optional values. A wrong type or an out-of-range number records an error and
  // returns nothing; errors() lists the first one.
  // A string holding a NUL (\u0000) is refused, with `rule` (what the value must be, such as
  // "1-63 of A-Z a-z 0-9 . _ -") when given; so are the elements of string_array.
  std::optional<std::string> string(const char* key, bool required, std::string_view rule = {});
  std::optional<std::int64_t> integer(const char* key, bool required, std::int64_t min, std::int64_t max);
  std::optional<double> number(const char* key, bool required, double min, double max);
  std::optional<bool> boolean(const char* key, bool required);
  std::optional<std::vector<std::string>> string_array(const char* key, bool required, bool allow_empty);
  // A nested object (marked as read). Its reader must be finished by the caller.
  std::optional<ObjectReader> object(const char* key, bool required);
  // An array of objects.
  std::optional<std::vector<ObjectReader>> object_array(const char* key, bool required);

  // Records an error for `key` (for checks beyond types, such as "must start with /").
  void fail(const char* key, const std::string& message);
  // The same for a key further down, by its whole key path ("balancers[1].name"), for checks
  // made once the nested objects are read.
  void fail_at(const std::string& key_path, const std::string& message);
  // Keeps the first error of a nested reader (already naming its file, line and key) as this
  // reader's error, unless this reader has one.
  void adopt(const Status& nested);
  // Treats every key as read: when a "type" is unknown, its other keys cannot be judged.
  void accept_rest();
  // Refuses unread keys, then returns the first error of this reader, if any.
  Status finish();

  std::string key_path(std::string_view key) const;

 private:
  const cJSON* lookup(const char* key, bool required);
  void record(std::string_view key, const std::string& message);

  const Source* source_;
  const cJSON* node_;
  std::string path_;
  std::set<std::string> read_;
  std::optional<Error> first_error_;
};

}  // namespace phoenix::config
