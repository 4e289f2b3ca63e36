#include "shared/providers/process_table.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <iterator>
#include <map>

#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::providers {

namespace fs = std::filesystem;

namespace {

// A /proc file of NUL-separated strings (cmdline, environ); empty when it cannot be read.
std::vector<std::string> nul_separated(const fs::path& file) {
  std::vector<std::string> values;
  auto text = util::read_file(file);
  if (!text) return values;
  std::size_t start = 0;
  while (start < text->size()) {
    auto end = text->find('\0', start);
    if (end == std::string::npos) end = text->size();
    values.push_back(text->substr(start, end - start));
    start = end + 1;
  }
  return values;
}

fs::path link_target(const fs::path& link) {
  std::error_code ec;
  auto target = fs::read_symlink(link, ec);
  return ec ? fs::path() : target;
}

// A whole string of hex digits as a number.
std::optional<std::uint32_t> parse_hex(std::string_view text) {
  std::uint32_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value, 16);
  if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

// "0100007F:1F90" (the kernel prints the address as the number its memory holds, the port in
// host order) -> "127.0.0.1:8080".
std::optional<std::string> tcp_address(std::string_view hex) {
  const auto colon = hex.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto raw = parse_hex(hex.substr(0, colon));
  const auto port = parse_hex(hex.substr(colon + 1));
  if (!raw || !port) return std::nullopt;
  in_addr address{};
  address.s_addr = *raw;
  char text[INET_ADDRSTRLEN] = {};
  if (::inet_ntop(AF_INET, &address, text, sizeof text) == nullptr) return std::nullopt;
  return std::string(text) + ":" + std::to_string(*port);
}

// Socket inode -> "host:port" of every IPv4 TCP socket in the LISTEN state.
std::map<std::string, std::string> listening_sockets() {
  constexpr std::string_view kListen = "0A";
  std::map<std::string, std::string> sockets;
  auto table = util::read_file("/proc/net/tcp");
  if (!table) return sockets;
  const auto lines = util::split_lines(*table);
  for (std::size_t i = 1; i < lines.size(); ++i) {  // line 0 is the header
    std::vector<std::string> fields;
    for (const auto& field : util::split(lines[i], ' ')) {
      if (!field.empty()) fields.push_back(field);
    }
    if (fields.size() < 10 || fields[3] != kListen) continue;
    if (auto address = tcp_address(fields[1])) sockets[fields[9]] = *address;
  }
  return sockets;
}

// The inodes of the sockets a process holds open ("socket:[12345]" -> "12345").
std::vector<std::string> socket_inodes(const fs::path& process) {
  std::vector<std::string> inodes;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(process / "fd", ec)) {
    const std::string target = link_target(entry.path()).string();
    if (target.rfind("socket:[", 0) == 0 && target.back() == ']') {
      inodes.push_back(target.substr(8, target.size() - 9));
    }
  }
  return inodes;
}

}  // namespace

std::optional<std::string> ProcessFacts::variable(const std::string& name) const {
  const std::string prefix = name + "=";
  for (const auto& entry : environment) {
    if (entry.rfind(prefix, 0) == 0) return entry.substr(prefix.size());
  }
  return std::nullopt;
}

bool is_within(const fs::path& path, const fs::path& directory) {
  const auto normal_path = path.lexically_normal();
  const auto normal_directory = directory.lexically_normal();
  if (normal_directory.empty()) return false;
  auto inside = normal_path.begin();
  for (auto part = normal_directory.begin(); part != normal_directory.end(); ++part, ++inside) {
    if (part->empty() && std::next(part) == normal_directory.end()) break;  // a trailing slash
    if (inside == normal_path.end() || *inside != *part) return false;
  }
  return true;
}

std::vector<ProcessFacts> processes_working_in(const fs::path& directory) {
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(fs::absolute(directory, ec), ec);
  std::vector<ProcessFacts> found;
  if (ec || resolved.empty()) return found;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const auto pid = util::parse_int(entry.path().filename().string());
    if (!pid || *pid <= 0) continue;
    const fs::path working_directory = link_target(entry.path() / "cwd");
    if (working_directory.empty() || !is_within(working_directory, resolved)) continue;
    const auto ticks = util::process_start_ticks(static_cast<pid_t>(*pid));
    if (!ticks) continue;  // gone, or a zombie
    ProcessFacts facts;
    facts.identity = {static_cast<pid_t>(*pid), *ticks};
    facts.working_directory = working_directory;
    facts.executable = link_target(entry.path() / "exe");
    facts.arguments = nul_separated(entry.path() / "cmdline");
    facts.environment = nul_separated(entry.path() / "environ");
    facts.output = link_target(entry.path() / "fd" / "1");
    found.push_back(std::move(facts));
  }
  if (found.empty()) return found;
  const auto sockets = listening_sockets();
  for (auto& facts : found) {
    for (const auto& inode : socket_inodes("/proc/" + std::to_string(facts.identity.pid))) {
      if (const auto socket = sockets.find(inode); socket != sockets.end()) facts.listening.push_back(socket->second);
    }
  }
  std::sort(found.begin(), found.end(),
            [](const ProcessFacts& a, const ProcessFacts& b) { return a.identity.pid < b.identity.pid; });
  return found;
}

}  // namespace phoenix::providers
