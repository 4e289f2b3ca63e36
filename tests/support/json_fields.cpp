#include "support/json_fields.hpp"

#include <vector>

#include "shared/util/strings.hpp"

namespace phoenix::testing {

namespace {

void collect(const cJSON* node, const std::string& path, std::set<std::string>& paths) {
  if (cJSON_IsObject(node)) {
    const cJSON* item = nullptr;
    cJSON_ArrayForEach(item, node) {
      const std::string key = path.empty() ? item->string : path + "." + item->string;
      paths.insert(key);
      collect(item, key, paths);
    }
  } else if (cJSON_IsArray(node)) {
    const cJSON* element = nullptr;
    cJSON_ArrayForEach(element, node) collect(element, path + "[]", paths);
  }
}

// The lines of `heading`'s section of `document`, the heading excluded: up to the next heading
// of the same level ("## " for "## ...").
std::vector<std::string> section(std::string_view document, std::string_view heading) {
  const std::string level = std::string(heading.substr(0, heading.find(' ') + 1));
  std::vector<std::string> lines;
  bool inside = false;
  for (const auto& line : util::split_lines(document)) {
    if (inside && line.rfind(level, 0) == 0) break;
    if (inside) lines.push_back(line);
    if (line == heading) inside = true;
  }
  return lines;
}

}  // namespace

std::set<std::string> key_paths(const cJSON* node) {
  std::set<std::string> paths;
  collect(node, "", paths);
  return paths;
}

std::set<std::string> documented_fields(std::string_view document, std::string_view heading) {
  std::set<std::string> fields;
  for (const auto& line : section(document, heading)) {
    if (line.rfind("| `", 0) != 0) continue;
    const auto end = line.find('`', 3);
    if (end != std::string::npos) fields.insert(line.substr(3, end - 3));
  }
  return fields;
}

std::string documented_example(std::string_view document, std::string_view heading) {
  std::string example;
  bool inside = false;
  for (const auto& line : section(document, heading)) {
    if (inside && line == "```") return example;
    if (inside) example += line + "\n";
    if (line == "```json") inside = true;
  }
  return "";
}

}  // namespace phoenix::testing
