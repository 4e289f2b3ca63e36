// libFuzzer target: everything Phoenix parses from HAProxy (Runtime API answers, the managed
// block of haproxy.cfg) must survive any bytes: a result or an error, never a crash.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shared/balancers/haproxy_answers.hpp"
#include "shared/balancers/haproxy_config_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace phoenix::haproxy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto answers = split_interactive_answers(text);
  const auto states = parse_servers_state(text);
  const auto stats = parse_show_stat(text);
  if (states.ok() && stats.ok()) (void)to_members(*states, *stats);
  for (const auto& answer : answers) {
    if (auto parsed = parse_servers_state(answer); parsed.ok()) (void)to_members(*parsed, {});
    (void)parse_show_stat(answer);
  }
  if (auto lines = managed_servers(text, "web")) {
    for (const auto& line : *lines) (void)parse_server_line(line);
  }
  (void)with_managed_servers(text, "web", {"server 1:1 127.0.0.1:80 check weight 1"});
  (void)parse_server_line(text);
  return 0;
}
