#include "shared/balancers/haproxy_config_file.hpp"

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

std::optional<Section> find_backend(const std::vector<std::string>& lines, std::string_view backend) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!is_backend_header(lines[i], backend)) continue;
    Section section{i, lines.size()};
    for (std::size_t j = i + 1; j < lines.size(); ++j) {
      if (starts_section(lines[j])) {
        section.end = j;
        break;
      }
    }
    return section;
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> with_managed_servers(std::string_view config, std::string_view backend,
                                         const std::vector<std::string>& server_lines) {
  auto lines = util::split_lines(config);
  const auto section = find_backend(lines, backend);
  if (!section) {
    return Error{ErrorKind::invalid, "the HAProxy configuration has no 'backend " + std::string(backend) + "' section"};
  }
  std::vector<std::string> block;
  block.emplace_back("    " + std::string(kManagedBegin));
  for (const auto& line : server_lines) block.push_back("    " + line);
  block.emplace_back("    " + std::string(kManagedEnd));

  std::optional<std::size_t> begin;
  std::optional<std::size_t> end;
  for (std::size_t i = section->header + 1; i < section->end && !end; ++i) {
    const auto trimmed = util::trim(lines[i]);
    if (trimmed == kManagedBegin) begin = i;
    if (trimmed == kManagedEnd && begin) end = i + 1;
  }
  if (begin && !end) {
    return Error{ErrorKind::invalid, "the managed block of backend " + std::string(backend) +
                                         " in the HAProxy configuration has no end marker; restore it by hand"};
  }
  if (!begin) {
    // No block yet: insert after the section's last non-blank line.
    std::size_t position = section->end;
    while (position > section->header + 1 && util::trim(lines[position - 1]).empty()) --position;
    begin = end = position;
  }
  lines.erase(lines.begin() + static_cast<long>(*begin), lines.begin() + static_cast<long>(*end));
  lines.insert(lines.begin() + static_cast<long>(*begin), block.begin(), block.end());
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

std::vector<std::string> managed_servers(std::string_view config, std::string_view backend) {
  const auto lines = util::split_lines(config);
  const auto section = find_backend(lines, backend);
  std::vector<std::string> servers;
  if (!section) return servers;
  bool inside = false;
  for (std::size_t i = section->header + 1; i < section->end; ++i) {
    const auto trimmed = util::trim(lines[i]);
    if (trimmed == kManagedBegin) {
      inside = true;
    } else if (trimmed == kManagedEnd) {
      break;
    } else if (inside && !trimmed.empty()) {
      servers.emplace_back(trimmed);
    }
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
