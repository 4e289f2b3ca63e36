#include "shared/util/json.hpp"

#include <algorithm>

namespace phoenix::util {

Result<Json> parse_json(std::string_view text, std::string_view origin) {
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    return Error{ErrorKind::invalid,
                 std::string(origin) + ": invalid JSON (a NUL byte at offset " + std::to_string(nul) + ")"};
  }
  // cJSON checks for trailing garbage by finding the terminating NUL inside the length.
  const std::string terminated(text);
  const char* end = nullptr;
  Json document(cJSON_ParseWithLengthOpts(terminated.c_str(), terminated.size() + 1, &end, 1));
  if (document) return document;
  if (end != nullptr) end = text.data() + (end - terminated.c_str());
  const char* where = end != nullptr ? end : cJSON_GetErrorPtr();
  std::size_t offset = text.size();
  if (where != nullptr && where >= text.data() && where <= text.data() + text.size()) {
    offset = static_cast<std::size_t>(where - text.data());
  }
  const auto before = text.substr(0, offset);
  const auto line = 1 + std::count(before.begin(), before.end(), '\n');
  const auto line_start = before.rfind('\n');
  const auto column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  std::string message =
      std::string(origin) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": invalid JSON";
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) message += " (the file is empty)";
  return Error{ErrorKind::invalid, message};
}

std::string print_json(const cJSON* node, bool pretty) {
  char* text = pretty ? cJSON_Print(node) : cJSON_PrintUnformatted(node);
  if (text == nullptr) return pretty ? "null\n" : "null";
  std::string out(text);
  cJSON_free(text);
  if (pretty) out += '\n';
  return out;
}

std::optional<std::string> json_string(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsString(item) || item->valuestring == nullptr) return std::nullopt;
  return std::string(item->valuestring);
}

std::optional<double> json_number(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsNumber(item)) return std::nullopt;
  return item->valuedouble;
}

std::optional<bool> json_bool(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (!cJSON_IsBool(item)) return std::nullopt;
  return cJSON_IsTrue(item) != 0;
}

cJSON* add_string(cJSON* object, const char* key, std::string_view value) {
  return cJSON_AddStringToObject(object, key, std::string(value).c_str());
}

cJSON* add_number(cJSON* object, const char* key, double value) { return cJSON_AddNumberToObject(object, key, value); }

cJSON* add_bool(cJSON* object, const char* key, bool value) {
  return cJSON_AddBoolToObject(object, key, value ? 1 : 0);
}

const char* json_type_name(const cJSON* node) {
  if (node == nullptr) return "nothing";
  if (cJSON_IsObject(node)) return "object";
  if (cJSON_IsArray(node)) return "array";
  if (cJSON_IsString(node)) return "string";
  if (cJSON_IsNumber(node)) return "number";
  if (cJSON_IsBool(node)) return "boolean";
  if (cJSON_IsNull(node)) return "null";
  return "invalid value";
}

}  // namespace phoenix::util
