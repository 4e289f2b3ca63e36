#include "shared/balancers/haproxy_balancer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "shared/balancers/haproxy_answers.hpp"
#include "shared/balancers/haproxy_config_file.hpp"
#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::haproxy {

namespace {

constexpr std::string_view kStillConnected = "Server still has connections attached to it";
constexpr std::string_view kRegistered = "New server registered.";

bool accept_plain(const std::string& command, const std::string& answer) {
  if (command.rfind("add server", 0) == 0) {
    return answer == kRegistered || answer == "Already exists a server with the same name in backend.";
  }
  return answer.empty();
}

bool accept_removal(const std::string& command, const std::string& answer) {
  if (command.rfind("del server", 0) == 0) {
    return answer == "Server deleted." || answer == "No such server." || answer.rfind(kStillConnected, 0) == 0;
  }
  // The server may be gone already (an earlier, interrupted run deleted it).
  return answer.empty() || answer == "No such server.";
}

// HAProxy's answer as part of a line: printable, without its final full stop ("No such server.").
std::string quoted_answer(const std::string& answer) {
  std::string text = util::printable(answer, 200);
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

HaproxyBalancer::HaproxyBalancer(RuntimeChannel& channel, HaproxySettings settings)
    : channel_(channel), settings_(std::move(settings)) {}

Error HaproxyBalancer::refused_answer(const std::string& command, const std::string& answer) const {
  const std::string text = quoted_answer(answer);
  const std::string& backend = settings_.backend;
  if (answer.find("Can't find backend") != std::string::npos || answer.find("No such backend") != std::string::npos) {
    return {ErrorKind::invalid, "HAProxy has no backend '" + backend + "' (balancer.backend)"};
  }
  // 'add server' into a backend whose algorithm is static, and 'set server ... weight' in one
  // ("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'"). The
  // look lets a hash algorithm through when it cannot tell how it hashes (check_algorithm).
  if (answer.find("dynamic load balancing") != std::string::npos ||
      answer.find("static LB algorithm") != std::string::npos) {
    return Error{ErrorKind::invalid,
                 "HAProxy backend '" + backend + "' (" + channel_.describe() + ") takes no servers at runtime with " +
                     (algorithm_ ? "its algorithm " + *algorithm_ : std::string("its algorithm")) + " (it answered '" +
                     command + "' with '" + text + "'): " + dynamic_algorithm_advice(backend, algorithm_) +
                     ", then reload HAProxy",
                 ErrorCode::changes_not_allowed};
  }
  if (answer.find("Permission denied") != std::string::npos) {
    return {ErrorKind::invalid,
            "HAProxy refused '" + command + "': permission denied (the stats socket needs 'level admin')"};
  }
  return {ErrorKind::unavailable, "HAProxy refused '" + command + "': " + text};
}

std::string HaproxyBalancer::describe() const {
  return "haproxy backend " + settings_.backend + " (" + channel_.describe() + ")";
}

Result<std::vector<std::string>> HaproxyBalancer::run_checked(const std::vector<std::string>& commands,
                                                              Acceptor accept) {
  if (commands.empty()) return std::vector<std::string>{};
  auto session = channel_.open();
  if (!session) return session.error();
  return exchange_checked(**session, commands, accept);
}

Result<std::vector<std::string>> HaproxyBalancer::exchange_checked(RuntimeSession& session,
                                                                   const std::vector<std::string>& commands,
                                                                   Acceptor accept) {
  auto answers = session.exchange(commands);
  if (!answers) return answers.error();
  PHX_TRY(check_answers(commands, *answers, accept));
  return answers;
}

Status HaproxyBalancer::check_answers(const std::vector<std::string>& commands, const std::vector<std::string>& answers,
                                      Acceptor accept) const {
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (!accept(commands[i], answers[i])) return refused_answer(commands[i], answers[i]);
  }
  if (answers.size() < commands.size()) {
    return Error{ErrorKind::unavailable, "HAProxy closed the connection after " + std::to_string(answers.size()) +
                                             " of " + std::to_string(commands.size()) + " commands; '" +
                                             commands[answers.size()] + "' and later ones were not applied"};
  }
  return {};
}

std::vector<std::string> HaproxyBalancer::member_reads(Detail detail) const {
  std::vector<std::string> commands = {"show servers state " + settings_.backend};
  if (detail == Detail::full) commands.push_back("show stat " + settings_.backend + " 4 -1");
  return commands;
}

Result<std::vector<Member>> HaproxyBalancer::members_from(const std::vector<std::string>& answers, std::size_t first,
                                                          Detail detail) const {
  const auto commands = member_reads(detail);
  if (answers.size() < first + commands.size()) {
    const std::size_t unanswered = answers.size() > first ? answers.size() - first : 0;
    return Error{ErrorKind::unavailable,
                 "HAProxy closed the connection before answering '" + commands[unanswered] + "'"};
  }
  const std::string& state_answer = answers[first];
  if (state_answer.find("Can't find backend") != std::string::npos) {
    return refused_answer(commands[0], state_answer);
  }
  auto states = parse_servers_state(state_answer);
  if (!states) return states.error();
  if (detail == Detail::states) return to_members(*states, {});
  auto stats = parse_show_stat(answers[first + 1]);
  if (!stats) return stats.error();
  return to_members(*states, *stats);
}

Result<std::vector<Member>> HaproxyBalancer::read_members(RuntimeSession& session, Detail detail) {
  auto answers = session.exchange(member_reads(detail));
  if (!answers) return answers.error();
  return members_from(*answers, 0, detail);
}

Result<std::vector<Member>> HaproxyBalancer::members() {
  auto session = channel_.open();
  if (!session) return session.error();
  return read_members(**session, Detail::full);
}

HaproxyBalancer::Guard HaproxyBalancer::keeps_serving(const std::vector<std::string>& keep_serving) {
  if (keep_serving.empty()) return {};
  // Present, admitted, up: all in show servers state.
  return {
      .unsafe = [keep_serving](const std::vector<Member>& members) { return unsafe_to_reduce(members, keep_serving); },
      .detail = Detail::states};
}

Result<std::optional<std::vector<std::string>>> HaproxyBalancer::guarded(const Guard& guard,
                                                                         const std::vector<std::string>& commands,
                                                                         Acceptor accept, std::string& refusal) {
  auto session = channel_.open();
  if (!session) return session.error();
  if (guard.unsafe) {
    auto current = read_members(**session, guard.detail);
    if (!current) return current.error();
    if (auto unsafe = guard.unsafe(*current)) {
      refusal = *unsafe;
      return std::optional<std::vector<std::string>>{};
    }
  }
  auto answers = exchange_checked(**session, commands, accept);
  if (!answers) return answers.error();
  return std::optional<std::vector<std::string>>(*answers);
}

Status HaproxyBalancer::add_standby(const std::vector<MemberSpec>& members) {
  if (members.empty()) return {};
  // Routing changes follow; they could not be made durable in a damaged block.
  PHX_TRY(check_durable());
  std::vector<std::string> additions;
  const std::string check = " " + server_options();
  for (const auto& member : members) {
    additions.push_back("add server " + server(member.name) + " " + member.host + ":" + std::to_string(member.port) +
                        check + " weight 0");
  }
  auto session = channel_.open();
  if (!session) return session.error();
  auto added = (*session)->exchange(additions);
  if (!added) return added.error();
  // HAProxy adds servers in maintenance: checks on and ready only for the servers this call
  // registered. A server that was there already keeps its state, so adding it changes nothing
  // (it may be admitted or draining); one left in maintenance by an interrupted add is
  // returned to standby by the plan (standby).
  std::vector<std::string> to_standby;
  for (std::size_t i = 0; i < added->size(); ++i) {
    if ((*added)[i] != kRegistered) continue;
    to_standby.push_back("enable health " + server(members[i].name));
    to_standby.push_back("set server " + server(members[i].name) + " state ready");
  }
  if (!to_standby.empty()) {
    auto enabled = exchange_checked(**session, to_standby, accept_plain);
    if (!enabled) return enabled.error();
  }
  return check_answers(additions, *added, accept_plain);
}

Result<GuardedChange> HaproxyBalancer::standby(const std::vector<std::string>& names,
                                               const std::vector<std::string>& keep_serving) {
  std::vector<std::string> commands;
  for (const auto& name : names) {
    commands.push_back("set server " + server(name) + " weight 0");
    // Checks may never have been enabled: an interrupted add_standby stops anywhere.
    commands.push_back("enable health " + server(name));
    commands.push_back("set server " + server(name) + " state ready");
  }
  GuardedChange change;
  auto answers = guarded(keeps_serving(keep_serving), commands, accept_plain, change.refusal);
  if (!answers) return answers.error();
  change.applied = answers->has_value();
  return change;
}

Status HaproxyBalancer::admit(const std::vector<std::string>& names) {
  std::vector<std::string> commands;
  for (const auto& name : names) commands.push_back("set server " + server(name) + " weight 1");
  auto answers = run_checked(commands, accept_plain);
  if (!answers) return answers.error();
  return {};
}

Result<GuardedChange> HaproxyBalancer::drain(const std::vector<std::string>& names,
                                             const std::vector<std::string>& keep_serving) {
  std::vector<std::string> commands;
  for (const auto& name : names) commands.push_back("set server " + server(name) + " state drain");
  GuardedChange change;
  auto answers = guarded(keeps_serving(keep_serving), commands, accept_plain, change.refusal);
  if (!answers) return answers.error();
  change.applied = answers->has_value();
  return change;
}

Result<GuardedChange> HaproxyBalancer::remove(const std::vector<std::string>& names,
                                              const std::vector<std::string>& keep_serving) {
  return remove_guarded(names, keeps_serving(keep_serving));
}

Result<GuardedChange> HaproxyBalancer::remove_idle_standby(const std::vector<std::string>& names) {
  // Open connections are in show stat.
  return remove_guarded(
      names, {.unsafe = [names](const std::vector<Member>& members) { return not_idle_standby(members, names); },
              .detail = Detail::full});
}

Result<GuardedChange> HaproxyBalancer::remove_guarded(const std::vector<std::string>& names, const Guard& guard) {
  std::vector<std::string> commands;
  for (const auto& name : names) {
    commands.push_back("set server " + server(name) + " state maint");
    commands.push_back("del server " + server(name));
  }
  GuardedChange change;
  auto answers = guarded(guard, commands, accept_removal, change.refusal);
  if (!answers) return answers.error();
  change.applied = answers->has_value();
  if (!change.applied) return change;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if ((**answers)[2 * i + 1].rfind(kStillConnected, 0) == 0) change.still_connected.push_back(names[i]);
  }
  return change;
}

Result<std::vector<std::string>> HaproxyBalancer::managed_lines() const {
  auto text = util::read_file(*settings_.config_file);
  if (!text) {
    return Error{text.error().kind,
                 "balancer.config_file: " + text.error().message +
                     "; point it at the haproxy.cfg HAProxy runs with, or leave the key out",
                 text.error().code};
  }
  // A restart comes back with the servers the configuration defines itself and the managed block.
  auto managed = managed_servers(*text, settings_.backend);
  if (!managed) return managed.error().context(settings_.config_file->string());
  auto lines = configured_servers(*text, settings_.backend);
  for (auto& line : *managed) lines.push_back(std::move(line));
  return lines;
}

Result<std::optional<std::vector<Member>>> HaproxyBalancer::durable_members() {
  if (!settings_.config_file) return std::optional<std::vector<Member>>{};
  auto lines = managed_lines();
  if (!lines) return lines.error();
  std::vector<Member> members;
  for (const auto& line : *lines) {
    auto member = parse_server_line(line);
    if (!member) return member.error().context(settings_.config_file->string());
    members.push_back(*member);
  }
  return std::optional<std::vector<Member>>(members);
}

Status HaproxyBalancer::check_durable() {
  if (!settings_.config_file) return {};
  auto lines = managed_lines();
  if (!lines) return lines.error();
  return keeping_.check(writable());
}

void HaproxyBalancer::allow_runtime_only() { keeping_.allow(); }

MembershipKeeping HaproxyBalancer::keeping() {
  if (!settings_.config_file) return {.kind = KeepingKind::not_kept};
  return keeping_.keeping(writable());
}

Status HaproxyBalancer::persistable() {
  if (!settings_.config_file) return {};
  const std::string file = settings_.config_file->string();
  auto directory = util::replacement_directory(*settings_.config_file);
  if (!directory) return Error{ErrorKind::invalid, "balancer.config_file " + file + ": " + directory.error().message};
  // The effective user's rights: the one that will create the file.
  if (::faccessat(AT_FDCWD, directory->c_str(), W_OK | X_OK, AT_EACCESS) == 0) return {};
  const int error_number = errno;
  return Error{ErrorKind::invalid, "balancer.config_file " + file + " cannot be kept current: its directory " +
                                       directory->string() + " must be writable by this user (uid " +
                                       std::to_string(::geteuid()) + "), since the file is replaced through a new " +
                                       "file beside it (" + std::strerror(error_number) + ")"};
}

Result<std::string> HaproxyBalancer::instance() {
  // One 'show info', nothing else: the look a switch takes after it was recorded as done. The
  // managed block is judged where a switch plans (snapshot) and adds servers (add_standby), so
  // a block that could not be kept refuses a switch before its first change, never here.
  auto answers = channel_.run({"show info"});
  if (!answers) return answers.error();
  return instance_from(*answers);
}

Result<std::optional<std::chrono::seconds>> HaproxyBalancer::uptime() {
  auto answers = channel_.run({"show info"});
  if (!answers) return answers.error();
  if (answers->empty())
    return Error{ErrorKind::unavailable, "HAProxy closed the connection before answering 'show info'"};
  return uptime_from(answers->front());
}

std::optional<std::chrono::seconds> HaproxyBalancer::uptime_from(const std::string& show_info) {
  for (const auto& line : util::split_lines(show_info)) {
    if (line.rfind("Uptime_sec: ", 0) != 0) continue;
    if (auto seconds = util::parse_int(line.substr(12)); seconds && *seconds >= 0)
      return std::chrono::seconds(*seconds);
  }
  return std::nullopt;
}

Result<std::string> HaproxyBalancer::instance_from(const std::vector<std::string>& answers) {
  if (answers.empty())
    return Error{ErrorKind::unavailable, "HAProxy closed the connection before answering 'show info'"};
  std::optional<std::string> pid;
  std::optional<long long> uptime;
  for (const auto& line : util::split_lines(answers.front())) {
    if (line.rfind("Pid: ", 0) == 0) pid = line.substr(5);
    if (line.rfind("Uptime_sec: ", 0) == 0) {
      if (auto seconds = util::parse_int(line.substr(12))) uptime = *seconds;
    }
  }
  if (!pid) return Error{ErrorKind::unavailable, "HAProxy's 'show info' has no Pid line"};
  const long long up = uptime.value_or(0);
  if (!seen_) {
    seen_ = SeenProcess{.pid = *pid, .uptime_s = up, .generation = 0};
  } else if (seen_->pid != *pid || up < seen_->uptime_s) {
    // Another pid, or the same one up for less time than before: another process. Counted, so
    // that a pid seen again later is not taken for the process seen first.
    seen_ = SeenProcess{.pid = *pid, .uptime_s = up, .generation = seen_->generation + 1};
  } else {
    seen_->uptime_s = up;
  }
  return seen_->generation == 0 ? *pid : *pid + " (process " + std::to_string(seen_->generation + 1) + " seen)";
}

// A stats socket below `level admin` answers 'show cli level' with "operator" or "user", and
// HAProxy refuses every change a switch makes on it: a configuration error, told at the look a
// switch plans from, before anything changes. Any other answer ("admin"; a HAProxy without the
// command) lets the switch go on.
Status HaproxyBalancer::check_admin_level(const std::string& answer) const {
  const std::string level(util::trim(answer));
  if (level != "operator" && level != "user") return {};
  return Error{ErrorKind::invalid,
               "HAProxy's stats socket " + channel_.describe() + " is at level " + level +
                   ", which may not add, weigh or remove servers; give that 'stats socket' line of haproxy.cfg "
                   "'level admin' (balancer.socket), then reload HAProxy",
               ErrorCode::changes_not_allowed};
}

Status HaproxyBalancer::changes_allowed() {
  // As snapshot() asks them: the socket's level, then the backend's algorithm.
  auto answers = channel_.run({"show stat " + settings_.backend + " 2 -1", "show cli level"});
  if (!answers) return answers.error();
  if (answers->size() == 2) PHX_TRY(check_admin_level(answers->back()));
  if (answers->empty()) return {};
  return check_algorithm(answers->front());
}

Status HaproxyBalancer::check_algorithm(const std::string& stat) {
  algorithm_ = backend_algorithm(stat);
  if (!algorithm_) return {};
  const std::string& algorithm = *algorithm_;
  const std::string backend = "HAProxy backend '" + settings_.backend + "' (" + channel_.describe() + ")";
  const std::string then = ", reload HAProxy, then run the command again";
  switch (algorithm_kind(algorithm)) {
    case AlgorithmKind::dynamic:
      return {};
    case AlgorithmKind::fixed:
      return Error{ErrorKind::invalid,
                   backend + " uses the static algorithm " + algorithm + ", which takes no servers at runtime; " +
                       dynamic_algorithm_advice(settings_.backend, algorithm) + then,
                   ErrorCode::changes_not_allowed};
    case AlgorithmKind::hashed:
      break;
  }
  if (!settings_.config_file) return {};
  const auto text = util::read_file(*settings_.config_file);
  if (!text || hash_type(*text, settings_.backend) != HashType::map_based) return {};
  return Error{ErrorKind::invalid,
               backend + " uses the hash algorithm " + algorithm + " without 'hash-type consistent' in " +
                   settings_.config_file->string() + ", so it takes no servers at runtime; " +
                   dynamic_algorithm_advice(settings_.backend, algorithm) + then,
               ErrorCode::changes_not_allowed};
}

Result<BalancerSnapshot> HaproxyBalancer::snapshot() {
  PHX_TRY(check_durable());
  std::vector<std::string> commands = {"show info"};
  for (auto& read : member_reads(Detail::full)) commands.push_back(std::move(read));
  const std::size_t algorithm = commands.size();
  commands.push_back("show stat " + settings_.backend + " 2 -1");  // the backend's row: its algorithm
  commands.push_back("show cli level");                            // last: the answers before it keep their places
  auto session = channel_.open();
  if (!session) return session.error();
  auto answers = (*session)->exchange(commands);
  if (!answers) return answers.error();
  if (answers->size() == commands.size()) PHX_TRY(check_admin_level(answers->back()));
  PHX_TRY_ASSIGN(auto pid, instance_from(*answers));
  PHX_TRY_ASSIGN(auto members, members_from(*answers, 1, Detail::full));
  if (answers->size() > algorithm) PHX_TRY(check_algorithm((*answers)[algorithm]));
  // The uptime comes with the instance's 'show info': no exchange of its own.
  return BalancerSnapshot{
      .instance = std::move(pid), .members = std::move(members), .uptime = uptime_from(answers->front())};
}

// The same options at runtime and in the configuration, so a member behaves alike before and
// after a reload. `pool-max-conn 0`: no idle server connections are kept, which HAProxy 2.6
// already does for servers added at runtime; a server from the configuration would otherwise
// park the connection of a request that outlived the drain in its idle pool once the request
// ends, and `del server` is refused until the idle pool is purged (pool-purge-delay, many
// seconds). Without it the member is removed the moment its last request ends.
std::string HaproxyBalancer::server_options() const {
  return "check inter " + std::to_string(settings_.check_interval_ms) + "ms rise " + std::to_string(settings_.rise) +
         " fall " + std::to_string(settings_.fall) + " pool-max-conn 0";
}

std::string HaproxyBalancer::config_line(const Member& member) const {
  std::string line = "server " + member.name + " " + member.address + " " + server_options() + " weight " +
                     std::to_string(member.admitted() ? member.weight : 0);
  if (member.admin == AdminState::maint) line += " disabled";
  return line;
}

Status HaproxyBalancer::persist(const std::vector<Member>& members) {
  if (keeping().kind != KeepingKind::written) return {};  // no config_file, or at runtime only
  auto text = util::read_file(*settings_.config_file);
  if (!text) return text.error().context("keeping the live servers in the HAProxy configuration");
  // Only servers Phoenix added: one added by hand is not Phoenix's to keep, and servers the
  // configuration defines itself are durable already (a second line of the same name in the
  // managed block would make HAProxy refuse to start).
  std::set<std::string> configured;
  for (const auto& line : configured_servers(*text, settings_.backend)) {
    if (auto member = parse_server_line(line)) configured.insert(member->name);
  }
  std::vector<std::string> lines;
  lines.reserve(members.size());
  for (const auto& member : members) {
    if (added_by_phoenix(member) && configured.count(member.name) == 0) lines.push_back(config_line(member));
  }
  auto updated = with_managed_servers(*text, settings_.backend, lines);
  if (!updated) return updated.error().context(settings_.config_file->string());
  if (*updated == *text) return {};
  // The temporary files a writer killed mid-write left beside it: swept before this balancer's
  // first write, not on every one.
  if (!temporaries_swept_) util::remove_dead_writers_temporaries(*settings_.config_file);
  temporaries_swept_ = true;
  return util::write_file_atomic(*settings_.config_file, *updated);
}

}  // namespace phoenix::haproxy
