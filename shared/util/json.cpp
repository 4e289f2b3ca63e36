#include "shared/util/json.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <tuple>

namespace phoenix::util {

namespace {

// A ',' right before a '}' or ']' (cJSON stops at that closer or at one after it): where it is.
std::optional<std::size_t> trailing_comma(std::string_view text, std::size_t offset) {
  std::size_t at = offset;
  while (at > 0 && std::string_view(" \t\r\n}]").find(text[at]) != std::string_view::npos) --at;
  if (at == offset || text[at] != ',') return std::nullopt;
  const auto next = text.find_first_not_of(" \t\r\n", at + 1);
  if (next == std::string_view::npos || (text[next] != '}' && text[next] != ']')) return std::nullopt;
  return at;
}

// What is wrong where cJSON stopped at `offset` (it says only where): the common slips of a
// hand-edited file by name, else the character found there; and where the slip is.
std::pair<std::size_t, std::string> json_slip(std::string_view text, std::size_t offset) {
  if (offset >= text.size()) return {offset, "the text ends before every '{', '[' and '\"' is closed"};
  if (const auto comma = trailing_comma(text, offset)) {
    return {*comma, std::string("a ',' before '") + text[text.find_first_not_of(" \t\r\n", *comma + 1)] + "'"};
  }
  const char found = text[offset];
  if (found == '\'') return {offset, "a string in single quotes (JSON takes double quotes)"};
  if (offset > 0 && text[offset - 1] == '\'')
    return {offset - 1, "a string in single quotes (JSON takes double quotes)"};
  const auto previous = offset == 0 ? std::string_view::npos : text.find_last_not_of(" \t\r\n", offset - 1);
  const char before = previous == std::string_view::npos ? '\0' : text[previous];
  const bool value_ended =
      before == '"' || before == '}' || before == ']' || std::isalnum(static_cast<unsigned char>(before)) != 0;
  if (found == '"' && value_ended) return {offset, "a ',' missing before '\"'"};
  if (std::isprint(static_cast<unsigned char>(found)) != 0) return {offset, std::string("unexpected '") + found + "'"};
  return {offset, "an unexpected byte"};
}

}  // namespace

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
  const bool empty = text.find_first_not_of(" \t\r\n") == std::string_view::npos;
  std::string slip = "the file is empty";
  if (!empty) std::tie(offset, slip) = json_slip(text, offset);
  const auto before = text.substr(0, offset);
  const auto line = 1 + std::count(before.begin(), before.end(), '\n');
  const auto line_start = before.rfind('\n');
  const auto column = offset - (line_start == std::string_view::npos ? 0 : line_start + 1) + 1;
  const std::string message =
      std::string(origin) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": invalid JSON (" + slip + ")";
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
