#pragma once
// The `haproxy` balancer: membership of one backend through the Runtime API, kept durable in
// the managed block of haproxy.cfg when `config_file` is set.
//
// Standby is HAProxy weight 0 with health checks on: a new server is checked but routed
// nothing until admit() gives it weight. This avoids HAProxy's trap of routing traffic to a
// freshly enabled server ("UP 1/2", check INI) before its first check.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "shared/balancers/haproxy_channel.hpp"
#include "shared/core/balancer.hpp"

namespace phoenix::haproxy {

struct HaproxySettings {
  std::string backend;
  int check_interval_ms = 500;
  int rise = 2;
  int fall = 2;
  std::optional<std::filesystem::path> config_file;
};

class HaproxyBalancer final : public Balancer {
 public:
  HaproxyBalancer(RuntimeChannel& channel, HaproxySettings settings);

  std::string describe() const override;
  // HAProxy 2.6 checks a server added at runtime one `inter` after it was added (measured:
  // 100.5 to 104 ms with `inter 100ms`; `spread-checks` in the global section would move it,
  // and the wait then reads as often as before).
  BalancerCapabilities capabilities() const override {
    return {
        .standby = true, .drain = true, .first_check_after = std::chrono::milliseconds(settings_.check_interval_ms)};
  }
  Result<std::vector<Member>> members() override;
  Status add_standby(const std::vector<MemberSpec>& members) override;
  Result<GuardedChange> standby(const std::vector<std::string>& names,
                                const std::vector<std::string>& keep_serving) override;
  Status admit(const std::vector<std::string>& names) override;
  Result<GuardedChange> drain(const std::vector<std::string>& names,
                              const std::vector<std::string>& keep_serving) override;
  Result<GuardedChange> remove(const std::vector<std::string>& names,
                               const std::vector<std::string>& keep_serving) override;
  Result<GuardedChange> remove_idle_standby(const std::vector<std::string>& names) override;
  Status persist(const std::vector<Member>& members) override;
  // config_file's directory (links followed) must be writable: persist() replaces the file
  // through a new file beside it.
  Status persistable() override;
  // One 'show cli level': the stats socket's level, as snapshot() checks it.
  Status changes_allowed() override;
  void allow_runtime_only() override;
  // written with a config_file it keeps current; not_kept without one; runtime_only when it
  // cannot write it and may switch anyway (allow_runtime_only). persist() obeys it.
  MembershipKeeping keeping() override;
  Result<std::optional<std::vector<Member>>> durable_members() override;
  // Also refuses (`invalid`) while the managed block of config_file is damaged, as do
  // durable_members, persist and add_standby, or while it could not be written (persistable):
  // nothing is changed that could not be kept.
  Result<std::string> instance() override;
  Result<std::optional<std::chrono::seconds>> uptime() override;
  // One exchange: show info, show servers state, show stat (the servers, then the backend's
  // algorithm), show cli level. Refuses (`invalid`) a socket below level admin and a backend whose
  // algorithm takes no servers at runtime (check_algorithm): no switch could change anything.
  Result<BalancerSnapshot> snapshot() override;

  // The server line for haproxy.cfg that recreates `member` as it is now.
  std::string config_line(const Member& member) const;
  // The health check and connection options of every member Phoenix adds.
  std::string server_options() const;

 private:
  Status check_admin_level(const std::string& answer) const;
  // A backend whose algorithm takes no servers at runtime refuses every switch at its first change:
  // refused (`invalid`) at the look instead, from the backend's `algo` in `show stat` (its answer
  // `stat`) and, for a hash algorithm, the hash-type config_file gives the backend. Where neither
  // tells for certain, the switch goes on and HAProxy's own refusal says it.
  // Remembers the algorithm it read (algorithm_).
  Status check_algorithm(const std::string& stat);
  // HAProxy's refusal `answer` to `command` as an error: what is wrong and what to do, for a
  // backend whose algorithm takes no servers at runtime as the last look read it (algorithm_).
  Error refused_answer(const std::string& command, const std::string& answer) const;
  std::string server(const std::string& name) const { return settings_.backend + "/" + name; }
  using Acceptor = bool (*)(const std::string& command, const std::string& answer);
  // Runs commands and checks every answer with `accept`; the first refused answer or a
  // connection that broke midway becomes an error naming the command.
  Result<std::vector<std::string>> run_checked(const std::vector<std::string>& commands, Acceptor accept);
  Result<std::vector<std::string>> exchange_checked(RuntimeSession& session, const std::vector<std::string>& commands,
                                                    Acceptor accept);
  // The first answer `accept` refuses, or the first command left unanswered, as an error.
  Status check_answers(const std::vector<std::string>& commands, const std::vector<std::string>& answers,
                       Acceptor accept) const;
  // How much of a member a read fills in. `states` (show servers state alone) leaves out what
  // show stat adds (check results, sessions, counters): enough for guards that ask only whether
  // members are present, admitted and up, and several times cheaper for HAProxy to answer.
  enum class Detail { states, full };
  // The commands that read the backend's members at `detail`.
  std::vector<std::string> member_reads(Detail detail) const;
  // Members from the answers to member_reads(detail), which start at answers[first].
  Result<std::vector<Member>> members_from(const std::vector<std::string>& answers, std::size_t first,
                                           Detail detail) const;
  Result<std::vector<Member>> read_members(RuntimeSession& session, Detail detail);
  // The instance that answered show info (answers[0]): its Pid and, after the first, how many
  // processes this balancer has seen, so a restart that reuses the pid (pid 1 in a container)
  // is a new instance too. The process is the same while its Uptime_sec does not go back.
  Result<std::string> instance_from(const std::vector<std::string>& answers);
  // Uptime_sec of a 'show info' answer; nothing when it has none.
  static std::optional<std::chrono::seconds> uptime_from(const std::string& show_info);
  // Why a change is unsafe given the members now, or nothing; `detail` is what it needs read.
  struct Guard {
    std::function<std::optional<std::string>(const std::vector<Member>&)> unsafe;
    Detail detail = Detail::full;
  };
  // Opens a session, checks `guard` on the members it reads (unless `guard` is empty), and runs
  // `commands` on the same session, hence the same HAProxy process.
  Result<std::optional<std::vector<std::string>>> guarded(const Guard& guard, const std::vector<std::string>& commands,
                                                          Acceptor accept, std::string& refusal);
  // The guard of changes that take capacity away: none when `keep_serving` is empty.
  static Guard keeps_serving(const std::vector<std::string>& keep_serving);
  // maint and del for each member; the members still holding connections are listed.
  Result<GuardedChange> remove_guarded(const std::vector<std::string>& names, const Guard& guard);

  // The server lines a restart of HAProxy comes back with: those config_file (which must be
  // set) defines itself, then those of the managed block; a damaged block is an error.
  Result<std::vector<std::string>> managed_lines() const;
  Status check_durable();
  // persistable(), as keeping_ asks it.
  RuntimeOnlyKeeping::Check writable() {
    return [this] { return persistable(); };
  }

  RuntimeChannel& channel_;
  HaproxySettings settings_;
  // The process instance_from saw last.
  struct SeenProcess {
    std::string pid;
    long long uptime_s = 0;
    int generation = 0;  // processes seen before this one
  };
  std::optional<SeenProcess> seen_;
  // The backend's algorithm as the last look read it (`algo` of show stat), for the advice of a
  // refusal: nothing before a look, or from a HAProxy that does not say.
  std::optional<std::string> algorithm_;
  // Whether a config_file that cannot be written refuses a switch (allow_runtime_only).
  RuntimeOnlyKeeping keeping_;
  // Whether persist swept the dead writers' temporary files of config_file (once per command).
  bool temporaries_swept_ = false;
};

}  // namespace phoenix::haproxy
