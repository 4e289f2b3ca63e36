#include "shared/util/json.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <tuple>

namespace phoenix::util {

namespace {

constexpr std::string_view kSpace = " \t\r\n";

// What a scan of `text` up to `limit` found outside strings: the first ',' right before a '}'
// or ']', the bracket depth at `limit`, and the '"' of a string still open there.
struct JsonScan {
  std::optional<std::size_t> trailing_comma;
  int depth = 0;
  std::optional<std::size_t> open_string;
  std::optional<std::size_t> wrong_closer;  // the first '}' or ']' that closes the other kind
};

JsonScan scan_json(std::string_view text, std::size_t limit) {
  JsonScan scan;
  std::string open;  // the brackets open at i, innermost last
  for (std::size_t i = 0; i < text.size() && i <= limit; ++i) {
    const char c = text[i];
    if (scan.open_string) {
      if (c == '\\') ++i;
      if (c == '"') scan.open_string.reset();
      continue;
    }
    if (c == '"') scan.open_string = i;
    if (c == '{' || c == '[') open.push_back(c);
    if ((c == '}' || c == ']') && !open.empty()) {
      if (open.back() != (c == '}' ? '{' : '[') && !scan.wrong_closer) scan.wrong_closer = i;
      open.pop_back();
    }
    const auto next = text.find_first_not_of(kSpace, i + 1);
    if (c == ',' && !scan.trailing_comma && next != std::string_view::npos &&
        (text[next] == '}' || text[next] == ']')) {
      scan.trailing_comma = i;
    }
  }
  scan.depth = static_cast<int>(open.size());
  return scan;
}

// What is wrong where cJSON stopped at `offset` (it says only where, and not always at the
// slip): the common slips of a hand-edited file by name, else the character found there; and
// where the slip is.
std::pair<std::size_t, std::string> json_slip(std::string_view text, std::size_t offset) {
  const JsonScan scan = scan_json(text, offset);
  if (scan.trailing_comma) {
    return {*scan.trailing_comma,
            std::string("a ',' before '") + text[text.find_first_not_of(kSpace, *scan.trailing_comma + 1)] + "'"};
  }
  if (scan.open_string && (offset >= text.size() || text.find('"', offset) == std::string_view::npos)) {
    return {*scan.open_string, "a string that is never closed"};
  }
  if (scan.wrong_closer) {
    const char closer = text[*scan.wrong_closer];
    return {*scan.wrong_closer, std::string("a '") + closer + "' where a '" + (closer == '}' ? ']' : '}') + "' closes"};
  }
  if (scan.depth >= CJSON_NESTING_LIMIT) {
    return {offset, "nested deeper than " + std::to_string(CJSON_NESTING_LIMIT) + " levels"};
  }
  if (offset >= text.size()) return {text.size(), "the text ends before every '{' and '[' is closed"};
  const char found = text[offset];
  if (found == '\'') return {offset, "a string in single quotes (JSON takes double quotes)"};
  if (offset > 0 && text[offset - 1] == '\'') {
    return {offset - 1, "a string in single quotes (JSON takes double quotes)"};
  }
  const auto previous = offset == 0 ? std::string_view::npos : text.find_last_not_of(kSpace, offset - 1);
  const char before = previous == std::string_view::npos ? '\0' : text[previous];
  const bool value_ended =
      before == '"' || before == '}' || before == ']' || std::isalnum(static_cast<unsigned char>(before)) != 0;
  if (found == '"' && value_ended) return {offset, "a ',' missing before '\"'"};
  // cJSON may stop on the space after what it could not take.
  if (kSpace.find(found) != std::string_view::npos && previous != std::string_view::npos) {
    return {previous, std::string("unexpected '") + before + "'"};
  }
  if (std::isprint(static_cast<unsigned char>(found)) != 0) return {offset, std::string("unexpected '") + found + "'"};
  return {offset, "an unexpected byte"};
}

// Where `offset` is on its line as an editor counts: in characters (UTF-8), from 1.
std::size_t column_of(std::string_view before_offset) {
  const auto line_start = before_offset.rfind('\n');
  const auto line = before_offset.substr(line_start == std::string_view::npos ? 0 : line_start + 1);
  return 1 + static_cast<std::size_t>(std::count_if(line.begin(), line.end(), [](char c) {
           return (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a UTF-8 continuation byte
         }));
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
  const auto column = column_of(before);
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
