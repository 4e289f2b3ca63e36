#include "shared/balancers/haproxy_config_file.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "shared/util/strings.hpp"

namespace phoenix::haproxy {

namespace {

bool starts_section(std::string_view line) {
  static constexpr std::array<std::string_view, 14> keywords = {
      "global",   "defaults", "frontend",    "backend", "listen",  "peers", "resolvers",
      "userlist", "program",  "http-errors", "ring",    "mailers", "cache", "crt-store"};
  const auto trimmed = util::trim(line);
  const auto word = trimmed.substr(0, trimmed.find_first_of(" \t"));
  for (auto keyword : keywords) {
    if (word == keyword) return true;
  }
  return false;
}

bool is_backend_header(std::string_view line, std::string_view backend) {
  const auto trimmed = util::trim(line);
  for (std::string_view keyword : {"backend", "listen"}) {
    if (trimmed.rfind(keyword, 0) != 0) continue;
    const auto rest = util::trim(trimmed.substr(keyword.size()));
    if (rest.substr(0, rest.find_first_of(" \t")) == backend && trimmed.size() > keyword.size() &&
        (trimmed[keyword.size()] == ' ' || trimmed[keyword.size()] == '\t')) {
      return true;
    }
  }
  return false;
}

struct Section {
  std::size_t header = 0;  // line index of "backend <name>"
  std::size_t end = 0;     // one past its last line
};

// The section whose header is at `header`.
Section section_at(const std::vector<std::string>& lines, std::size_t header) {
  for (std::size_t j = header + 1; j < lines.size(); ++j) {
    if (starts_section(lines[j])) return {header, j};
  }
  return {header, lines.size()};
}

std::optional<Section> find_backend(const std::vector<std::string>& lines, std::string_view backend) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (is_backend_header(lines[i], backend)) return section_at(lines, i);
  }
  return std::nullopt;
}

// Lines [begin, end) of the managed block, markers included.
struct Block {
  std::size_t begin = 0;
  std::size_t end = 0;
};

bool looks_like_marker(std::string_view trimmed, std::string_view marker) {
  // "# BEGIN phoenix managed" / "# END phoenix managed": a marker, perhaps edited.
  const auto stem = marker.substr(0, marker.find(" servers"));
  return trimmed.rfind(stem, 0) == 0;
}

std::string line_number(std::size_t index) { return "line " + std::to_string(index + 1); }

Error damaged(std::string_view backend, std::size_t index, const std::string& problem, const std::string& fix) {
  return {ErrorKind::invalid,
          line_number(index) + ": the managed block of backend " + std::string(backend) + " " + problem + "; " + fix};
}

const std::string kKeepOneBlock = "keep exactly one block: its begin marker, its server lines, its end marker";

// The managed block of `backend` inside `section`, or nothing when there is none yet. Anything
// but exactly one well-formed BEGIN..END pair holding only server lines is refused: a partial
// block would otherwise get a second one beside it, and both pools would be routed on reload.
Result<std::optional<Block>> find_block(const std::vector<std::string>& lines, const Section& section,
                                        std::string_view backend) {
  std::vector<std::size_t> begins;
  std::vector<std::size_t> ends;
  for (std::size_t i = section.header + 1; i < section.end; ++i) {
    const auto trimmed = util::trim(lines[i]);
    if (trimmed == kManagedBegin) {
      begins.push_back(i);
    } else if (trimmed == kManagedEnd) {
      ends.push_back(i);
    } else if (looks_like_marker(trimmed, kManagedBegin) || looks_like_marker(trimmed, kManagedEnd)) {
      const bool begin = looks_like_marker(trimmed, kManagedBegin);
      return damaged(backend, i, "has an edited marker '" + util::printable(trimmed, 80) + "'",
                     "restore it to exactly '" + std::string(begin ? kManagedBegin : kManagedEnd) + "'");
    }
  }
  if (begins.empty() && ends.empty()) return std::optional<Block>{};
  if (begins.size() > 1 || ends.size() > 1) {
    const auto& repeated = begins.size() > 1 ? begins : ends;
    return damaged(backend, repeated[1],
                   "has a second " + std::string(begins.size() > 1 ? "begin" : "end") + " marker (the first is on " +
                       line_number(repeated[0]) + ")",
                   kKeepOneBlock);
  }
  if (begins.empty()) {
    return damaged(backend, ends[0], "has its end marker but no begin marker",
                   "put the line '" + std::string(kManagedBegin) + "' back above the block's server lines");
  }
  if (ends.empty()) {
    return damaged(backend, begins[0], "has its begin marker but no end marker",
                   "put the line '" + std::string(kManagedEnd) + "' back below the block's server lines");
  }
  if (ends[0] < begins[0]) {
    return damaged(backend, ends[0], "has its end marker above its begin marker (" + line_number(begins[0]) + ")",
                   kKeepOneBlock);
  }
  for (std::size_t i = begins[0] + 1; i < ends[0]; ++i) {
    const auto trimmed = util::trim(lines[i]);
    if (!trimmed.empty() && trimmed.rfind("server ", 0) != 0) {
      return damaged(backend, i, "holds a line that is not a server line: '" + util::printable(trimmed, 80) + "'",
                     "move it out of the block");
    }
  }
  return std::optional<Block>(Block{begins[0], ends[0] + 1});
}

Error missing_backend(std::string_view backend) {
  return {ErrorKind::invalid, "the HAProxy configuration has no 'backend " + std::string(backend) +
                                  "' section (balancer.backend); name a backend the file defines, or point "
                                  "balancer.config_file at the file HAProxy runs with"};
}

// The words of a configuration line, up to a comment.
std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t position = 0;
  while (true) {
    position = line.find_first_not_of(" \t\r", position);
    if (position == std::string_view::npos || line[position] == '#') break;
    const auto end = std::min(line.find_first_of(" \t\r", position), line.size());
    words.push_back(line.substr(position, end - position));
    position = end;
  }
  return words;
}

// The value of the keyword after 'from' in a section header ("backend web from base": "base").
std::string_view inherits_from(const std::vector<std::string_view>& header) {
  for (std::size_t i = 1; i + 1 < header.size(); ++i) {
    if (header[i] == "from") return header[i + 1];
  }
  return {};
}

// The hash-type lines [begin, end) set last, or unknown when none does.
std::optional<HashType> hash_type_set(const std::vector<std::string>& lines, std::size_t begin, std::size_t end) {
  std::optional<HashType> type;
  for (std::size_t i = begin; i < end; ++i) {
    const auto words = words_of(lines[i]);
    if (words.size() < 2 || words[0] != "hash-type") continue;
    type = words[1] == "consistent"  ? HashType::consistent
           : words[1] == "map-based" ? HashType::map_based
                                     : HashType::unknown;
  }
  return type;
}

// The defaults section `backend` (its header at `header`) inherits from: the one named `name`,
// else the last one above it.
std::optional<Section> defaults_of(const std::vector<std::string>& lines, std::size_t header, std::string_view name) {
  std::optional<Section> found;
  for (std::size_t i = 0; i < lines.size() && (!name.empty() || i < header); ++i) {
    const auto words = words_of(lines[i]);
    if (words.empty() || words[0] != "defaults") continue;
    if (!name.empty() && (words.size() < 2 || words[1] != name)) continue;
    found = section_at(lines, i);
  }
  return found;
}

}  // namespace

HashType hash_type(std::string_view config, std::string_view backend) {
  const auto lines = util::split_lines(config);
  const auto section = find_backend(lines, backend);
  if (!section) return HashType::unknown;
  if (const auto own = hash_type_set(lines, section->header + 1, section->end)) return *own;
  const auto defaults = defaults_of(lines, section->header, inherits_from(words_of(lines[section->header])));
  if (!defaults || !inherits_from(words_of(lines[defaults->header])).empty()) return HashType::unknown;
  return hash_type_set(lines, defaults->header + 1, defaults->end).value_or(HashType::map_based);
}

Result<std::string> with_managed_servers(std::string_view config, std::string_view backend,
                                         const std::vector<std::string>& server_lines) {
  auto lines = util::split_lines(config);
  const auto section = find_backend(lines, backend);
  if (!section) return missing_backend(backend);
  auto found = find_block(lines, *section, backend);
  if (!found) return found.error();
  std::vector<std::string> block;
  block.emplace_back("    " + std::string(kManagedBegin));
  for (const auto& line : server_lines) block.push_back("    " + line);
  block.emplace_back("    " + std::string(kManagedEnd));

  Block replaced;
  if (*found) {
    replaced = **found;
  } else {
    // No block yet: insert after the section's last non-blank line.
    std::size_t position = section->end;
    while (position > section->header + 1 && util::trim(lines[position - 1]).empty()) --position;
    replaced = {position, position};
  }
  lines.erase(lines.begin() + static_cast<long>(replaced.begin), lines.begin() + static_cast<long>(replaced.end));
  lines.insert(lines.begin() + static_cast<long>(replaced.begin), block.begin(), block.end());
  return util::join(lines, "\n") + "\n";
}

Result<Member> parse_server_line(std::string_view line) {
  std::vector<std::string> words;
  for (auto& word : util::split(util::trim(line), ' ')) {
    if (!word.empty()) words.push_back(word);
  }
  if (words.size() < 3 || words[0] != "server") {
    return Error{ErrorKind::invalid, "not a server line in the managed block: " + util::printable(line, 120)};
  }
  Member member;
  member.name = words[1];
  member.address = words[2];
  member.weight = 1;  // HAProxy's default
  for (std::size_t i = 3; i < words.size(); ++i) {
    if (words[i] == "weight" && i + 1 < words.size())
      member.weight = static_cast<int>(util::parse_int(words[i + 1]).value_or(1));
    if (words[i] == "disabled") member.admin = AdminState::maint;
  }
  return member;
}

Result<std::vector<std::string>> managed_servers(std::string_view config, std::string_view backend) {
  const auto lines = util::split_lines(config);
  const auto section = find_backend(lines, backend);
  if (!section) return missing_backend(backend);
  auto found = find_block(lines, *section, backend);
  if (!found) return found.error();
  std::vector<std::string> servers;
  if (!*found) return servers;
  for (std::size_t i = (*found)->begin + 1; i + 1 < (*found)->end; ++i) {
    const auto trimmed = util::trim(lines[i]);
    if (!trimmed.empty()) servers.emplace_back(trimmed);
  }
  return servers;
}

std::vector<std::string> configured_servers(std::string_view config, std::string_view backend) {
  const auto lines = util::split_lines(config);
  const auto section = find_backend(lines, backend);
  std::vector<std::string> servers;
  if (!section) return servers;
  bool managed = false;
  for (std::size_t i = section->header + 1; i < section->end; ++i) {
    const auto trimmed = util::trim(lines[i]);
    if (trimmed == kManagedBegin) {
      managed = true;
    } else if (trimmed == kManagedEnd) {
      managed = false;
    } else if (!managed && (trimmed.rfind("server ", 0) == 0 || trimmed.rfind("server\t", 0) == 0)) {
      servers.emplace_back(trimmed);
    }
  }
  return servers;
}

}  // namespace phoenix::haproxy
