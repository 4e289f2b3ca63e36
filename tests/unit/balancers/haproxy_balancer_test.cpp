#include "shared/balancers/haproxy_balancer.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "fakes/fake_runtime_channel.hpp"
#include "shared/balancers/haproxy_config_file.hpp"
#include "shared/util/files.hpp"
#include "support/harness.hpp"
#include "support/unwritable.hpp"

using namespace phoenix;
using phoenix::fakes::FakeRuntimeChannel;

namespace {
std::string plain_answer(const std::string& command) {
  if (command.rfind("add server", 0) == 0) return "New server registered.";
  if (command.rfind("del server", 0) == 0) return "Server deleted.";
  return "";
}
haproxy::HaproxySettings settings() { return {"web", 200, 2, 3, std::nullopt}; }
}  // namespace

TEST_CASE("members are added on standby on one connection: weight 0, then checks on and ready", "[haproxy]") {
  FakeRuntimeChannel channel(plain_answer);
  haproxy::HaproxyBalancer balancer(channel, settings());
  REQUIRE(balancer.add_standby({{"2:1", "127.64.0.4", 8000, "1"}, {"2:2", "127.64.0.5", 8001, "2"}}).ok());
  CHECK(channel.sessions == 1);
  REQUIRE(channel.batches.size() == 2);
  CHECK(channel.batches[0] ==
        std::vector<std::string>{
            "add server web/2:1 127.64.0.4:8000 check inter 200ms rise 2 fall 3 pool-max-conn 0 weight 0",
            "add server web/2:2 127.64.0.5:8001 check inter 200ms rise 2 fall 3 pool-max-conn 0 weight 0",
        });
  CHECK(channel.batches[1] == std::vector<std::string>{
                                  "enable health web/2:1",
                                  "set server web/2:1 state ready",
                                  "enable health web/2:2",
                                  "set server web/2:2 state ready",
                              });
}

TEST_CASE("adding a member that is there already leaves it as it is (admitted, draining)", "[haproxy]") {
  FakeRuntimeChannel channel([](const std::string& command) -> std::string {
    if (command.rfind("add server web/2:1 ", 0) == 0) return "Already exists a server with the same name in backend.";
    return plain_answer(command);
  });
  haproxy::HaproxyBalancer balancer(channel, settings());
  REQUIRE(balancer.add_standby({{"2:1", "127.64.0.4", 8000, "1"}, {"2:2", "127.64.0.5", 8001, "2"}}).ok());
  REQUIRE(channel.batches.size() == 2);
  CHECK(channel.batches[1] == std::vector<std::string>{"enable health web/2:2", "set server web/2:2 state ready"});
}

TEST_CASE("a refused addition is an error naming it, after the others were put on standby", "[haproxy]") {
  FakeRuntimeChannel channel([](const std::string& command) -> std::string {
    if (command.rfind("add server web/2:1 ", 0) == 0) return "Config: backend 'web': server '2:1' has no port.";
    return plain_answer(command);
  });
  haproxy::HaproxyBalancer balancer(channel, settings());
  const auto status = balancer.add_standby({{"2:1", "127.64.0.4", 0, "1"}, {"2:2", "127.64.0.5", 8001, "2"}});
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("add server web/2:1"));
  REQUIRE(channel.batches.size() == 2);
  CHECK(channel.batches[1] == std::vector<std::string>{"enable health web/2:2", "set server web/2:2 state ready"});
}

TEST_CASE("admit, drain and remove send the documented commands", "[haproxy]") {
  FakeRuntimeChannel channel(plain_answer);
  haproxy::HaproxyBalancer balancer(channel, settings());
  REQUIRE(balancer.admit({"2:1"}).ok());
  REQUIRE(balancer.drain({"1:1"}, {})->applied);
  REQUIRE(balancer.standby({"3:1"}, {})->applied);
  auto removed = balancer.remove({"1:1"}, {});
  REQUIRE(removed.ok());
  CHECK(removed->still_connected.empty());
  REQUIRE(channel.batches.size() == 4);
  CHECK(channel.batches[0] == std::vector<std::string>{"set server web/2:1 weight 1"});
  CHECK(channel.batches[1] == std::vector<std::string>{"set server web/1:1 state drain"});
  CHECK(channel.batches[2] == std::vector<std::string>{"set server web/3:1 weight 0", "enable health web/3:1",
                                                       "set server web/3:1 state ready"});
  CHECK(channel.batches[3] == std::vector<std::string>{"set server web/1:1 state maint", "del server web/1:1"});
}

TEST_CASE("removal reports members that still have connections, and accepts ones already gone", "[haproxy]") {
  FakeRuntimeChannel channel([](const std::string& command) -> std::string {
    if (command == "del server web/1:1") return "Server still has connections attached to it, cannot remove it.";
    if (command == "set server web/1:3 state maint") return "No such server.";
    if (command == "del server web/1:3") return "No such server.";
    return plain_answer(command);
  });
  haproxy::HaproxyBalancer balancer(channel, settings());
  auto removed = balancer.remove({"1:1", "1:2", "1:3"}, {});
  REQUIRE(removed.ok());
  CHECK(removed->still_connected == std::vector<std::string>{"1:1"});
}

TEST_CASE("HAProxy's refusals become clear errors", "[haproxy]") {
  SECTION("a static algorithm, not looked at: both ways out") {
    FakeRuntimeChannel channel([](const std::string&) {
      return std::string("Backend must use a dynamic load balancing to support dynamic servers.");
    });
    haproxy::HaproxyBalancer balancer(channel, settings());
    const auto status = balancer.add_standby({{"2:1", "h", 1, "1"}});
    CHECK(status.error().kind == ErrorKind::invalid);
    CHECK(status.error().is(ErrorCode::changes_not_allowed));
    CHECK_THAT(status.error().message,
               Catch::StartsWith("HAProxy backend 'web' (fake socket) takes no servers at runtime with its algorithm "
                                 "(it answered 'add server web/2:1 h:1 "));
    CHECK_THAT(status.error().message,
               Catch::EndsWith("with 'Backend must use a dynamic load balancing to support dynamic servers'): give "
                               "backend 'web' 'balance roundrobin' or 'balance leastconn' (with a hash algorithm: add "
                               "'hash-type consistent' to backend 'web'), then reload HAProxy"));
  }
  SECTION("a weight in a backend whose algorithm became static (a reload with another balance)") {
    FakeRuntimeChannel channel([](const std::string&) {
      return std::string("Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.");
    });
    haproxy::HaproxyBalancer balancer(channel, settings());
    const auto status = balancer.admit({"2:1"});
    CHECK(status.error().kind == ErrorKind::invalid);  // no re-planning fixes it
    CHECK_THAT(status.error().message, Catch::Contains("takes no servers at runtime"));
    CHECK_THAT(status.error().message, Catch::Contains("only accepts weights '0%' and '100%''): give"));
  }
  SECTION("a socket without admin level") {
    FakeRuntimeChannel channel([](const std::string&) { return std::string("Permission denied"); });
    haproxy::HaproxyBalancer balancer(channel, settings());
    CHECK_THAT(balancer.admit({"2:1"}).error().message, Catch::Contains("level admin"));
    CHECK(balancer.admit({"2:1"}).error().kind == ErrorKind::invalid);  // no re-planning fixes it
  }
  SECTION("an unknown answer is quoted, without its full stop (a caller goes on after it with '; ...')") {
    FakeRuntimeChannel channel([](const std::string&) { return std::string("Something new."); });
    haproxy::HaproxyBalancer balancer(channel, settings());
    CHECK(balancer.drain({"2:1"}, {}).error().message ==
          "HAProxy refused 'set server web/2:1 state drain': Something new");
  }
  SECTION("a connection closed midway says which commands were not applied") {
    FakeRuntimeChannel channel(plain_answer);
    channel.break_after = 1;
    haproxy::HaproxyBalancer balancer(channel, settings());
    const auto status = balancer.add_standby({{"2:1", "h", 1, "1"}});
    CHECK(status.error().kind == ErrorKind::unavailable);
    CHECK_THAT(status.error().message, Catch::Contains("after 1 of 2 commands"));
    CHECK_THAT(status.error().message, Catch::Contains("'set server web/2:1 state ready' and later ones"));
  }
}

TEST_CASE("the config line recreates a member as it is now", "[haproxy]") {
  FakeRuntimeChannel channel(plain_answer);
  haproxy::HaproxyBalancer balancer(channel, settings());
  Member member;
  member.name = "2:1";
  member.address = "127.64.0.4:8000";
  member.weight = 1;
  CHECK(balancer.config_line(member) ==
        "server 2:1 127.64.0.4:8000 check inter 200ms rise 2 fall 3 pool-max-conn 0 weight 1");
  member.weight = 0;
  CHECK_THAT(balancer.config_line(member), Catch::EndsWith("weight 0"));
  member.admin = AdminState::maint;
  CHECK_THAT(balancer.config_line(member), Catch::EndsWith("weight 0 disabled"));
}

namespace {
// A backend where 2:1 is admitted and UP, and 3:1 is on standby (weight 0).
std::string backend_answer(const std::string& command) {
  if (command == "show servers state web") {
    return "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
           "srv_port\n"
           "3 web 1 1:1 127.0.0.1 2 0 1 1 8001\n"
           "3 web 2 2:1 127.0.0.2 2 0 1 1 8002\n"
           "3 web 3 3:1 127.0.0.3 2 0 0 0 8003";
  }
  if (command == "show stat web 4 -1") {
    return "# pxname,svname,scur,status,weight,check_status\n"
           "web,1:1,0,UP,1,L7OK\nweb,2:1,0,UP,1,L7OK\nweb,3:1,0,UP,0,L7OK";
  }
  return plain_answer(command);
}
}  // namespace

TEST_CASE("drain and remove check the guard on the same connection as the change", "[haproxy]") {
  FakeRuntimeChannel channel(backend_answer);
  haproxy::HaproxyBalancer balancer(channel, settings());
  auto drained = balancer.drain({"1:1"}, {"2:1"});
  REQUIRE(drained.ok());
  CHECK(drained->applied);
  CHECK(channel.sessions == 1);
  REQUIRE(channel.batches.size() == 2);
  // Present, admitted and up are all in show servers state: show stat is not asked for.
  CHECK(channel.batches[0] == std::vector<std::string>{"show servers state web"});
  CHECK(channel.batches[1] == std::vector<std::string>{"set server web/1:1 state drain"});

  // The new pool lost its weight (a reload from an older file): nothing is taken away.
  channel.batches.clear();
  auto refused = balancer.remove({"1:1"}, {"2:1", "3:1"});
  REQUIRE(refused.ok());
  CHECK_FALSE(refused->applied);
  CHECK_THAT(refused->refusal, Catch::Contains("3:1 is no longer admitted"));
  CHECK(channel.batches.size() == 1);
  CHECK_FALSE(balancer.drain({"1:1"}, {"9:9"})->applied);
}

TEST_CASE("removing idle standby members reads their connections (show stat) on the same connection", "[haproxy]") {
  FakeRuntimeChannel channel(backend_answer);
  haproxy::HaproxyBalancer balancer(channel, settings());
  auto removed = balancer.remove_idle_standby({"3:1"});
  REQUIRE(removed.ok());
  CHECK(removed->applied);
  CHECK(channel.sessions == 1);
  REQUIRE(channel.batches.size() == 2);
  CHECK(channel.batches[0] == std::vector<std::string>{"show servers state web", "show stat web 4 -1"});
  CHECK(channel.batches[1] == std::vector<std::string>{"set server web/3:1 state maint", "del server web/3:1"});
  CHECK_FALSE(balancer.remove_idle_standby({"2:1"})->applied);  // admitted: not idle standby
}

// A stats socket below level admin refuses every change a switch makes: the look a switch plans
// from says so, as a configuration error, before anything changes.
TEST_CASE("a snapshot through a stats socket below level admin is a configuration error", "[haproxy]") {
  for (const std::string level : {"operator", "user", "admin", "Unknown command."}) {
    INFO(level);
    FakeRuntimeChannel channel([&](const std::string& command) -> std::string {
      if (command == "show cli level") return level;
      if (command == "show info") return "Name: HAProxy\nPid: 4242\nUptime_sec: 7";
      return backend_answer(command);
    });
    haproxy::HaproxyBalancer balancer(channel, settings());
    const auto snapshot = balancer.snapshot();
    // Status asks the same questions alone, and gets the same answer.
    const auto allowed = balancer.changes_allowed();
    CHECK(channel.batches.back() == std::vector<std::string>{"show stat web 2 -1", "show cli level"});
    if (level == "operator" || level == "user") {
      REQUIRE_FALSE(snapshot.ok());
      CHECK(snapshot.error().kind == ErrorKind::invalid);
      CHECK(snapshot.error().is(ErrorCode::changes_not_allowed));
      CHECK_THAT(snapshot.error().message, Catch::Contains("is at level " + level));
      CHECK_THAT(snapshot.error().message, Catch::Contains("'level admin'"));
      REQUIRE_FALSE(allowed.ok());
      CHECK(allowed.error().message == snapshot.error().message);
      CHECK(allowed.error().is(ErrorCode::changes_not_allowed));
    } else {
      CHECK(snapshot.ok());  // admin, or a HAProxy that cannot tell: its refusals say so later
      CHECK(allowed.ok());
    }
  }
}

TEST_CASE("a snapshot reads the instance and the members in one exchange, the instance first", "[haproxy]") {
  FakeRuntimeChannel channel([](const std::string& command) -> std::string {
    if (command == "show info") return "Name: HAProxy\nVersion: 2.6.12\nPid: 4242\nUptime: 0d 0h00m07s";
    return backend_answer(command);
  });
  haproxy::HaproxyBalancer balancer(channel, settings());
  const auto snapshot = balancer.snapshot();
  REQUIRE(snapshot.ok());
  CHECK(channel.sessions == 1);
  REQUIRE(channel.batches.size() == 1);
  CHECK(channel.batches[0] == std::vector<std::string>{"show info", "show servers state web", "show stat web 4 -1",
                                                       "show stat web 2 -1", "show cli level"});
  CHECK(snapshot->instance == "4242");
  REQUIRE(snapshot->members.size() == 3);
  CHECK(snapshot->members[1].name == "2:1");
  CHECK(snapshot->members[1].check == CheckState::passed);  // show stat was read
  CHECK(snapshot->members[2].weight == 0);

  FakeRuntimeChannel no_pid([](const std::string& command) -> std::string {
    return command == "show info" ? "Name: HAProxy" : backend_answer(command);
  });
  haproxy::HaproxyBalancer without_pid(no_pid, settings());
  const auto refused = without_pid.snapshot();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::unavailable);
  CHECK_THAT(refused.error().message, Catch::Contains("no Pid line"));
}

namespace {
// A backend running `algo`, whose members are those of backend_answer.
FakeRuntimeChannel::Answerer running(const std::string& algo) {
  return [algo](const std::string& command) -> std::string {
    if (command == "show info") return "Name: HAProxy\nPid: 4242\nUptime_sec: 7";
    if (command == "show stat web 2 -1") return "# pxname,svname,status,algo\nweb,BACKEND,UP," + algo;
    if (command == "show cli level") return "admin";
    return backend_answer(command);
  };
}
}  // namespace

// A backend whose algorithm takes no servers at runtime refuses every change of a switch: the
// look it plans from says so (what, where, what to do) before anything changes. A hash algorithm
// is refused only where config_file shows it map-based; where nothing tells, HAProxy's own refusal
// of the first change says it.
TEST_CASE("a snapshot of a backend whose algorithm takes no servers at runtime is a configuration error",
          "[haproxy][algorithm]") {
  testing::TempDir dir;
  const auto file = dir.path() / "haproxy.cfg";
  REQUIRE(util::write_file_atomic(file, "defaults\n    mode http\nbackend web\n    balance source\n").ok());
  auto with_file = settings();
  with_file.config_file = file;

  FakeRuntimeChannel static_rr(running("static-rr"));
  const auto fixed = haproxy::HaproxyBalancer(static_rr, settings()).snapshot();
  REQUIRE_FALSE(fixed.ok());
  CHECK(fixed.error().kind == ErrorKind::invalid);
  CHECK(fixed.error().message ==
        "HAProxy backend 'web' (fake socket) uses the static algorithm static-rr, which takes no servers at runtime; "
        "give backend 'web' 'balance roundrobin' or 'balance leastconn', reload HAProxy, then run the command again");
  CHECK(static_rr.sessions == 1);  // one look, nothing changed
  // Status asks the same (it said "no problems" while every switch was refused).
  const auto allowed = haproxy::HaproxyBalancer(static_rr, settings()).changes_allowed();
  REQUIRE_FALSE(allowed.ok());
  CHECK(allowed.error().is(ErrorCode::changes_not_allowed));
  CHECK(fixed.error().is(ErrorCode::changes_not_allowed));
  CHECK(allowed.error().message == fixed.error().message);

  FakeRuntimeChannel source(running("source"));
  const auto map_based = haproxy::HaproxyBalancer(source, with_file).snapshot();
  REQUIRE_FALSE(map_based.ok());
  CHECK(map_based.error().kind == ErrorKind::invalid);
  CHECK(map_based.error().message ==
        "HAProxy backend 'web' (fake socket) uses the hash algorithm source without 'hash-type consistent' in " +
            file.string() +
            ", so it takes no servers at runtime; add 'hash-type consistent' to backend 'web' (keeping 'balance "
            "source'), reload HAProxy, then run the command again");
  // Without config_file nothing tells how it hashes.
  CHECK(haproxy::HaproxyBalancer(source, settings()).snapshot().ok());

  REQUIRE(util::write_file_atomic(file, "backend web\n    balance source\n    hash-type consistent\n").ok());
  CHECK(haproxy::HaproxyBalancer(source, with_file).snapshot().ok());
  for (const std::string algo : {"roundrobin", "leastconn", "first", "unknown"}) {
    INFO(algo);
    FakeRuntimeChannel dynamic(running(algo));
    CHECK(haproxy::HaproxyBalancer(dynamic, settings()).snapshot().ok());
  }
  // A HAProxy whose show stat names no algorithm is not judged.
  FakeRuntimeChannel silent([](const std::string& command) -> std::string {
    return command == "show stat web 2 -1" ? "Unknown command." : running("static-rr")(command);
  });
  CHECK(haproxy::HaproxyBalancer(silent, settings()).snapshot().ok());
}

TEST_CASE("persist leaves servers the configuration defines itself out of the managed block", "[haproxy]") {
  // A second line of the same name would make HAProxy refuse the configuration on restart.
  testing::TempDir dir;
  const auto file = dir.path() / "haproxy.cfg";
  REQUIRE(
      util::write_file_atomic(file, "backend web\n    balance roundrobin\n    server legacy 10.0.0.1:80 check\n").ok());
  FakeRuntimeChannel channel(plain_answer);
  auto configured = settings();
  configured.config_file = file;
  haproxy::HaproxyBalancer balancer(channel, configured);
  Member legacy;
  legacy.name = "legacy";
  legacy.address = "10.0.0.1:80";
  legacy.weight = 1;
  Member ours = legacy;
  ours.name = "2:1";
  ours.address = "127.64.0.4:8000";
  REQUIRE(balancer.persist({legacy, ours}).ok());
  const auto text = *util::read_file(file);
  CHECK(
      haproxy::managed_servers(text, "web").value() ==
      std::vector<std::string>{"server 2:1 127.64.0.4:8000 check inter 200ms rise 2 fall 3 pool-max-conn 0 weight 1"});
  // A restart comes back with both, so both are the durable membership.
  const auto durable = balancer.durable_members();
  REQUIRE(durable.ok());
  REQUIRE(durable->has_value());
  REQUIRE((*durable)->size() == 2);
  CHECK((**durable)[0].name == "legacy");
  CHECK((**durable)[0].admitted());
  CHECK((**durable)[1].name == "2:1");
}

// A config_file that is not there, or that lacks the backend, names the key to fix and how.
TEST_CASE("a config_file that cannot be read or lacks the backend names the key and the fix",
          "[haproxy][config-file]") {
  testing::TempDir dir;
  FakeRuntimeChannel channel(plain_answer);
  auto with_file = settings();
  with_file.config_file = dir.path() / "missing.cfg";
  haproxy::HaproxyBalancer missing(channel, with_file);
  const auto unread = missing.durable_members();
  REQUIRE_FALSE(unread.ok());
  CHECK_THAT(unread.error().message, Catch::StartsWith("balancer.config_file: cannot read "));
  CHECK_THAT(unread.error().message,
             Catch::EndsWith("; point it at the haproxy.cfg HAProxy runs with, or leave the key out"));

  with_file.config_file = dir.path() / "other.cfg";
  REQUIRE(util::write_file_atomic(*with_file.config_file, "backend api\n    balance roundrobin\n").ok());
  haproxy::HaproxyBalancer other(channel, with_file);
  const auto elsewhere = other.durable_members();
  REQUIRE_FALSE(elsewhere.ok());
  CHECK_THAT(elsewhere.error().message,
             Catch::Contains("has no 'backend web' section (balancer.backend); name a backend the file defines, or "
                             "point balancer.config_file at the file HAProxy runs with"));
}

TEST_CASE("a damaged managed block refuses every change before HAProxy is touched", "[haproxy][config-file]") {
  testing::TempDir dir;
  const auto file = dir.path() / "haproxy.cfg";
  // The block with its begin marker deleted: what was left behind looks like static servers.
  REQUIRE(util::write_file_atomic(file,
                                  "backend web\n"
                                  "    balance roundrobin\n"
                                  "    server 1:1 127.64.0.1:8000 check weight 1\n"
                                  "    # END phoenix managed servers\n")
              .ok());
  FakeRuntimeChannel channel([](const std::string& command) {
    return command == "show info" ? std::string("Name: HAProxy\nPid: 4242\nUptime_sec: 7") : plain_answer(command);
  });
  auto with_file = settings();
  with_file.config_file = file;
  haproxy::HaproxyBalancer balancer(channel, with_file);
  const std::string expected = file.string() + ": line 4: the managed block of backend web has its end marker";

  const auto snapshot = balancer.snapshot();
  REQUIRE_FALSE(snapshot.ok());
  CHECK(snapshot.error().kind == ErrorKind::invalid);
  CHECK_THAT(snapshot.error().message, Catch::StartsWith(expected));
  const auto added = balancer.add_standby({{"2:1", "127.64.0.4", 8000, "1"}});
  REQUIRE_FALSE(added.ok());
  CHECK_THAT(added.error().message, Catch::StartsWith(expected));
  CHECK(channel.sessions == 0);  // nothing was sent
  // The instance alone is HAProxy's answer (a switch's last look, after it was recorded): the
  // block is not its business, so a damaged one is never reported as a balancer that did not
  // answer.
  const auto instance = balancer.instance();
  REQUIRE(instance.ok());
  CHECK(*instance == "4242");
  CHECK(channel.sessions == 1);
  CHECK(channel.batches.back() == std::vector<std::string>{"show info"});

  const auto durable = balancer.durable_members();
  REQUIRE_FALSE(durable.ok());
  CHECK(durable.error().kind == ErrorKind::invalid);
  CHECK_THAT(durable.error().message, Catch::StartsWith(expected));
  const auto before = util::read_file(file).value();
  const auto persisted = balancer.persist({});
  REQUIRE_FALSE(persisted.ok());
  CHECK_THAT(persisted.error().message, Catch::StartsWith(expected));
  CHECK(util::read_file(file).value() == before);
}

// A restart that reuses the pid (HAProxy as pid 1 of a container) comes back with a shorter
// uptime: that is another process, and a switch must see it as one.
TEST_CASE("the instance changes when HAProxy restarts under the same pid (its uptime went back)", "[haproxy][reload]") {
  std::string info = "Name: HAProxy\nPid: 1\nUptime_sec: 500";
  FakeRuntimeChannel channel([&info](const std::string& command) -> std::string {
    return command == "show info" ? info : backend_answer(command);
  });
  haproxy::HaproxyBalancer balancer(channel, settings());
  const auto first = balancer.instance().value();
  CHECK(first == "1");
  info = "Name: HAProxy\nPid: 1\nUptime_sec: 501";
  CHECK(balancer.instance().value() == first);  // the same process, a second later
  info = "Name: HAProxy\nPid: 1\nUptime_sec: 2";
  const auto restarted = balancer.snapshot().value().instance;
  CHECK(restarted != first);
  info = "Name: HAProxy\nPid: 1\nUptime_sec: 3";
  CHECK(balancer.instance().value() == restarted);
  // A pid seen before, after another one: still another process than the first.
  info = "Name: HAProxy\nPid: 7\nUptime_sec: 4";
  CHECK(balancer.instance().value() != restarted);
  info = "Name: HAProxy\nPid: 1\nUptime_sec: 5";
  const auto again = balancer.instance().value();
  CHECK(again != first);
  CHECK(again != restarted);
}

// Repair tells a reload from a change by hand by the uptime of the process that answered its
// look: read with the members, from the snapshot's own 'show info', on its one connection.
TEST_CASE("a snapshot reads the uptime from its own show info, on one connection", "[haproxy][reload]") {
  FakeRuntimeChannel channel([](const std::string& command) -> std::string {
    return command == "show info" ? "Name: HAProxy\nPid: 42\nUptime_sec: 75" : backend_answer(command);
  });
  haproxy::HaproxyBalancer balancer(channel, settings());
  const auto snapshot = balancer.snapshot();
  REQUIRE(snapshot.ok());
  CHECK(snapshot->instance == "42");
  CHECK(snapshot->uptime == std::chrono::seconds(75));
  CHECK(channel.sessions == 1);
  REQUIRE(channel.batches.size() == 1);
  CHECK(std::count(channel.batches[0].begin(), channel.batches[0].end(), "show info") == 1);
}

// review3 R6: a rollback goes ahead while config_file's directory cannot be written. Until
// allow_runtime_only() the balancer refuses every change for it before HAProxy is touched; from
// then on its next look checks once whether the file can be written and holds to that answer: it
// changes HAProxy, persist() writes nothing and succeeds, keeping() says runtime_only and why (every
// rollback warns with it), and persistable() still says why (status reports it). A balancer that
// finds the file writable keeps it current.
TEST_CASE("allow_runtime_only: a config_file that cannot be written no longer refuses, and is not written",
          "[haproxy][config-file][durable]") {
  testing::TempDir dir;
  const auto etc = dir.path() / "etc";
  std::filesystem::create_directories(etc);
  const auto file = etc / "haproxy.cfg";
  const std::string text = "backend web\n    balance roundrobin\n";
  REQUIRE(util::write_file_atomic(file, text).ok());
  FakeRuntimeChannel channel([](const std::string& command) {
    return command == "show info" ? std::string("Name: HAProxy\nPid: 4242\nUptime_sec: 7") : backend_answer(command);
  });
  auto with_file = settings();
  with_file.config_file = file;
  haproxy::HaproxyBalancer balancer(channel, with_file);
  Member ours;
  ours.name = "2:1";
  ours.address = "127.64.0.4:8000";
  ours.weight = 1;
  const std::string expected = "balancer.config_file " + file.string() + " cannot be kept current";

  testing::Unwritable unwritable(etc);
  REQUIRE(unwritable.active());
  const auto persistable = balancer.persistable();
  REQUIRE_FALSE(persistable.ok());
  CHECK(persistable.error().kind == ErrorKind::invalid);
  CHECK_THAT(persistable.error().message, Catch::StartsWith(expected));
  const auto refused = balancer.snapshot();
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::StartsWith(expected));
  const auto not_added = balancer.add_standby({{"2:1", "127.64.0.4", 8000, "1"}});
  REQUIRE_FALSE(not_added.ok());
  CHECK_THAT(not_added.error().message, Catch::StartsWith(expected));
  CHECK(channel.sessions == 0);  // refused before HAProxy is touched
  CHECK_FALSE(balancer.persist({ours}).ok());

  balancer.allow_runtime_only();
  REQUIRE(balancer.snapshot().ok());
  const auto keeping = balancer.keeping();
  CHECK(keeping.kind == KeepingKind::runtime_only);  // a switch says so, not "keep"
  CHECK_THAT(keeping.why, Catch::StartsWith(expected));
  balancer.allow_runtime_only();  // allowed again: decided already
  REQUIRE(balancer.add_standby({{"2:1", "127.64.0.4", 8000, "1"}}).ok());
  CHECK(channel.sessions == 2);
  REQUIRE(balancer.persist({ours}).ok());
  CHECK(util::read_file(file).value() == text);  // kept at runtime only
  CHECK(balancer.keeping().why == keeping.why);  // held, for every rollback to warn with
  CHECK_FALSE(balancer.persistable().ok());      // still reported

  // The answer holds for this balancer: no second check, so still not written once the
  // directory is writable again ('deploy-pipeline repair' writes it).
  unwritable.release();
  REQUIRE(balancer.persist({ours}).ok());
  CHECK(util::read_file(file).value() == text);

  // Found writable, the membership is kept current, with no reason to warn of.
  haproxy::HaproxyBalancer writable(channel, with_file);
  writable.allow_runtime_only();
  REQUIRE(writable.snapshot().ok());
  REQUIRE(writable.persist({ours}).ok());
  CHECK(writable.keeping().kind == KeepingKind::written);
  CHECK(writable.keeping().why.empty());
  // Without a config_file nothing keeps the membership: a restart loses it, by configuration (no
  // rollback warns of it).
  haproxy::HaproxyBalancer without_file(channel, settings());
  without_file.allow_runtime_only();
  CHECK(without_file.keeping().kind == KeepingKind::not_kept);
  CHECK(
      haproxy::managed_servers(util::read_file(file).value(), "web").value() ==
      std::vector<std::string>{"server 2:1 127.64.0.4:8000 check inter 200ms rise 2 fall 3 pool-max-conn 0 weight 1"});
}

// Where the look cannot tell how a hash algorithm hashes (no config_file), HAProxy refuses the
// first change: the error keeps the algorithm (advice for a hash one: hash-type consistent, not
// another algorithm) and reads as one line ("...dynamic servers.; the balancer" before).
TEST_CASE("HAProxy's refusal of a change in a hash backend advises hash-type consistent", "[haproxy][algorithm]") {
  const auto answers = running("source");
  FakeRuntimeChannel channel([&](const std::string& command) -> std::string {
    if (command.rfind("add server", 0) == 0)
      return "Backend must use a dynamic load balancing to support dynamic servers.";
    return answers(command);
  });
  haproxy::HaproxyBalancer balancer(channel, settings());
  REQUIRE(balancer.snapshot().ok());
  const auto refused = balancer.add_standby({{"2:1", "h", 1, "1"}});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK_THAT(refused.error().message,
             Catch::StartsWith("HAProxy backend 'web' (fake socket) takes no servers at runtime with its algorithm "
                               "source (it answered 'add server web/2:1 h:1 "));
  CHECK_THAT(
      refused.error().message,
      Catch::EndsWith("with 'Backend must use a dynamic load balancing to support dynamic servers'): add "
                      "'hash-type consistent' to backend 'web' (keeping 'balance source'), then reload HAProxy"));
  CHECK_THAT(refused.error().message, !Catch::Contains("roundrobin"));
  CHECK_THAT(refused.error().message, !Catch::Contains(".'"));
}
