#pragma once
// Ownership and lookup helpers around cJSON. cJSON does the parsing and printing.

#include <cjson/cJSON.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "shared/util/result.hpp"

namespace phoenix::util {

struct JsonDeleter {
  void operator()(cJSON* node) const { cJSON_Delete(node); }
};
using Json = std::unique_ptr<cJSON, JsonDeleter>;

// Parses a whole document. On a syntax error the message names `origin` and the line and
// column where the parser stopped, and the error kind is `invalid`.
Result<Json> parse_json(std::string_view text, std::string_view origin);

// Compact or indented text of a document; indented output ends with a newline.
std::string print_json(const cJSON* node, bool pretty = false);

// Typed lookups that return nothing when the key is missing or of another type.
std::optional<std::string> json_string(const cJSON* object, const char* key);
std::optional<double> json_number(const cJSON* object, const char* key);
std::optional<bool> json_bool(const cJSON* object, const char* key);

// Builders that keep call sites short; they return the added node.
cJSON* add_string(cJSON* object, const char* key, std::string_view value);
cJSON* add_number(cJSON* object, const char* key, double value);
cJSON* add_bool(cJSON* object, const char* key, bool value);

// "object", "array", "string", ... for error messages.
const char* json_type_name(const cJSON* node);

}  // namespace phoenix::util
