#include "shared/balancers/haproxy_answers.hpp"

#include <map>

#include "shared/util/strings.hpp"

namespace phoenix::haproxy {

namespace {

std::string strip_trailing_newlines(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return std::string(text);
}

int to_int(std::string_view text) {
  const auto value = util::parse_int(util::trim(text));
  return value ? static_cast<int>(*value) : 0;
}

long long to_long(std::string_view text) { return util::parse_int(util::trim(text)).value_or(0); }

// Column positions by header name.
std::map<std::string, std::size_t> index_columns(const std::vector<std::string>& names) {
  std::map<std::string, std::size_t> columns;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!names[i].empty()) columns.emplace(names[i], i);
  }
  return columns;
}

Error unexpected(std::string_view what, std::string_view text) {
  return {ErrorKind::unavailable,
          "unexpected answer from HAProxy to '" + std::string(what) + "': " + util::printable(util::trim(text), 160)};
}

}  // namespace

std::vector<std::string> split_interactive_answers(std::string_view output) {
  // The stream is: "\n> " (the prompt command's empty answer), then per command its answer
  // ending in "\n" followed by the prompt "> ".
  std::vector<std::string> answers;
  constexpr std::string_view prompt = "\n> ";
  auto position = output.find(prompt);
  if (position == std::string_view::npos) return answers;
  position += prompt.size();
  while (position <= output.size()) {
    const auto next = output.find(prompt, position);
    // Text after the last prompt with no prompt behind it is an answer cut short by a closed
    // connection; it is not an answer.
    if (next == std::string_view::npos) break;
    answers.push_back(strip_trailing_newlines(output.substr(position, next - position)));
    position = next + prompt.size();
  }
  return answers;
}

Result<std::vector<StatRow>> parse_show_stat(std::string_view csv) {
  const auto lines = util::split_lines(csv);
  if (lines.empty() || lines[0].rfind("# ", 0) != 0) return unexpected("show stat", csv);
  const auto columns = index_columns(util::split(std::string_view(lines[0]).substr(2), ','));
  for (const char* required : {"pxname", "svname", "scur", "status", "check_status", "weight"}) {
    if (columns.count(required) == 0) return unexpected("show stat", "no column " + std::string(required));
  }
  const auto column = [&](const std::vector<std::string>& fields, const char* name) -> std::string {
    const auto found = columns.find(name);
    if (found == columns.end() || found->second >= fields.size()) return {};
    return fields[found->second];
  };
  std::vector<StatRow> rows;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const auto fields = util::split(lines[i], ',');
    StatRow row;
    row.proxy = column(fields, "pxname");
    row.server = column(fields, "svname");
    if (row.server == "FRONTEND" || row.server == "BACKEND") continue;
    row.sessions = to_int(column(fields, "scur"));
    row.status = column(fields, "status");
    std::string check = column(fields, "check_status");
    if (check.rfind("* ", 0) == 0) check.erase(0, 2);
    row.check_status = check;
    row.weight = to_int(column(fields, "weight"));
    row.address = column(fields, "addr");
    if (const auto requests = column(fields, "req_tot"); !requests.empty()) {
      row.counters = MemberCounters{.requests = to_long(requests),
                                    .http_5xx = to_long(column(fields, "hrsp_5xx")),
                                    .connection_errors = to_long(column(fields, "econ")),
                                    .response_errors = to_long(column(fields, "eresp"))};
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

AlgorithmKind algorithm_kind(std::string_view algo) {
  if (algo == "static-rr") return AlgorithmKind::fixed;
  for (std::string_view hashed : {"source", "uri", "url_param", "hdr", "rdp-cookie", "hash"}) {
    if (algo == hashed) return AlgorithmKind::hashed;
  }
  return AlgorithmKind::dynamic;
}

std::string dynamic_algorithm_advice(std::string_view backend, const std::optional<std::string>& algo) {
  const std::string named = "backend '" + std::string(backend) + "'";
  const std::string dynamic = "give " + named + " 'balance roundrobin' or 'balance leastconn'";
  const std::string consistent = "add 'hash-type consistent' to " + named;
  const auto kind = algo ? std::optional(algorithm_kind(*algo)) : std::nullopt;
  if (kind == AlgorithmKind::hashed) return consistent + " (keeping 'balance " + *algo + "')";
  if (kind == AlgorithmKind::fixed) return dynamic;
  return dynamic + " (with a hash algorithm: " + consistent + ")";
}

std::optional<std::string> backend_algorithm(std::string_view csv) {
  const auto lines = util::split_lines(csv);
  if (lines.empty() || lines[0].rfind("# ", 0) != 0) return std::nullopt;
  const auto columns = index_columns(util::split(std::string_view(lines[0]).substr(2), ','));
  const auto svname = columns.find("svname");
  const auto algo = columns.find("algo");
  if (svname == columns.end() || algo == columns.end()) return std::nullopt;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto fields = util::split(lines[i], ',');
    if (svname->second < fields.size() && algo->second < fields.size() && fields[svname->second] == "BACKEND") {
      return fields[algo->second];
    }
  }
  return std::nullopt;
}

Result<std::vector<ServerStateRow>> parse_servers_state(std::string_view text) {
  const auto lines = util::split_lines(text);
  if (lines.size() < 2 || lines[1].rfind("# ", 0) != 0) return unexpected("show servers state", text);
  if (util::trim(lines[0]) != "1") return unexpected("show servers state", "unknown format version " + lines[0]);
  const auto columns = index_columns(util::split(std::string_view(lines[1]).substr(2), ' '));
  for (const char* required :
       {"be_name", "srv_name", "srv_addr", "srv_op_state", "srv_admin_state", "srv_uweight", "srv_port"}) {
    if (columns.count(required) == 0) return unexpected("show servers state", "no column " + std::string(required));
  }
  std::vector<ServerStateRow> rows;
  for (std::size_t i = 2; i < lines.size(); ++i) {
    if (util::trim(lines[i]).empty()) continue;
    const auto fields = util::split(lines[i], ' ');
    const auto field = [&](const char* name) -> std::string {
      const auto index = columns.at(name);
      return index < fields.size() ? fields[index] : std::string();
    };
    ServerStateRow row;
    row.backend = field("be_name");
    row.server = field("srv_name");
    row.address = field("srv_addr");
    row.port = to_int(field("srv_port"));
    row.operational = to_int(field("srv_op_state"));
    row.admin = to_int(field("srv_admin_state"));
    row.user_weight = to_int(field("srv_uweight"));
    if (row.server.empty()) return unexpected("show servers state", lines[i]);
    rows.push_back(std::move(row));
  }
  return rows;
}

AdminState admin_state_from_bits(int bits) {
  // 0x01 forced, 0x02 inherited, 0x04 configured, 0x20 resolution, 0x40 hostname maintenance;
  // 0x08 forced, 0x10 inherited drain.
  if ((bits & (0x01 | 0x02 | 0x04 | 0x20 | 0x40)) != 0) return AdminState::maint;
  if ((bits & (0x08 | 0x10)) != 0) return AdminState::drain;
  return AdminState::ready;
}

CheckState check_state(std::string_view status, std::string_view check_status) {
  if (check_status == "L4OK" || check_status == "L6OK" || check_status == "L7OK" || check_status == "L7OKC") {
    return CheckState::passed;
  }
  if (check_status == "INI") return CheckState::pending;
  if (check_status.empty()) return status == "no check" ? CheckState::off : CheckState::unknown;
  return CheckState::failed;  // L4CON, L4TOUT, L6RSP, L7STS, L7TOUT, SOCKERR, ...
}

std::vector<Member> to_members(const std::vector<ServerStateRow>& states, const std::vector<StatRow>& stats) {
  std::map<std::string, const StatRow*> stat_by_name;
  for (const auto& stat : stats) stat_by_name[stat.server] = &stat;
  std::vector<Member> members;
  members.reserve(states.size());
  for (const auto& state : states) {
    Member member;
    member.name = state.server;
    member.address = state.address + ":" + std::to_string(state.port);
    member.admin = admin_state_from_bits(state.admin);
    member.up = state.operational == 2;
    member.weight = state.user_weight;
    if (const auto found = stat_by_name.find(state.server); found != stat_by_name.end()) {
      member.status_text = found->second->status;
      member.check_text = found->second->check_status;
      member.sessions = found->second->sessions;
      member.check = check_state(member.status_text, member.check_text);
      member.counters = found->second->counters;
    }
    members.push_back(std::move(member));
  }
  return members;
}

}  // namespace phoenix::haproxy
