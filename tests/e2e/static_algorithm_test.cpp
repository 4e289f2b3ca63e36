// A backend whose algorithm takes no servers at runtime (balance static-rr; a hash algorithm
// without 'hash-type consistent'), met by the real binaries and a real HAProxy: every switch and
// its dry run is refused at its first look, before anything is marked or written; where the look
// cannot tell, HAProxy refuses the first change, and a rollback still changes nothing.

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// Pools 1 and 2 deployed in turn (2 live, 1 replaced) behind a round-robin backend, which then
// gets `balance` in haproxy.cfg and a reload: the membership Phoenix kept comes back with it.
struct StaticAlgorithmRig {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string config;

  explicit StaticAlgorithmRig(const std::string& balance, int hot = 0) {
    ServiceOptions options;
    options.pool_size = 1;
    options.hot = hot;  // 1: pool 1 stays on standby, and a rollback to it keeps it for restarts first
    config = write_service_config(dir.path(), haproxy, options).string();
    create_pools_1_and_2(config, ThenDeploy::each_in_turn);
    edit_backend("balance roundrobin", balance);
    haproxy.reload();
    REQUIRE(http_get(haproxy.url()).second == "2\n");
  }

  // Replaces `line` of haproxy.cfg (HAProxy reads it at its next reload).
  void edit_backend(const std::string& line, const std::string& with) const {
    auto text = util::read_file(haproxy.config_file()).value();
    const auto at = text.find(line);
    REQUIRE(at != std::string::npos);
    text.replace(at, line.size(), with);
    REQUIRE(util::write_file_atomic(haproxy.config_file(), text).ok());
  }

  ToolResult run(std::vector<std::string> arguments) const {
    arguments.insert(arguments.end(), {"--config", config});
    return run_tool("deploy-pipeline", arguments);
  }

  std::string verdict(const std::string& label) const {
    const auto listing =
        parse_output(run_tool("create-pipeline", {"list", "--output", "json", "--config", config}).out);
    const cJSON* pool = listed_pool(listing, label);
    REQUIRE(pool != nullptr);
    return util::json_string(pool, "verdict").value_or("");
  }

  std::string history() const { return run({"history", "--output", "json"}).out; }
  // "action label result" of the newest event in history, which must hold `count` events.
  std::string newest_event(int count) const {
    const auto events = parse_output(history());
    const cJSON* list = cJSON_GetObjectItem(events.get(), "events");
    REQUIRE(cJSON_GetArraySize(list) == count);
    const cJSON* newest = cJSON_GetArrayItem(list, 0);
    return util::json_string(newest, "action").value_or("") + " " + util::json_string(newest, "label").value_or("") +
           " " + util::json_string(newest, "result").value_or("");
  }
  std::string haproxy_cfg() const { return util::read_file(haproxy.config_file()).value(); }
  bool intent_left() const { return std::filesystem::exists(dir.path() / "state" / "web" / "intent.json"); }
};

}  // namespace

TEST_CASE("deploy, rollback, repair and their dry runs are refused at the look of a static-rr backend",
          "[e2e][algorithms]") {
  StaticAlgorithmRig rig("balance static-rr");
  const auto history = rig.history();
  const auto haproxy_cfg = rig.haproxy_cfg();
  const std::vector<std::vector<std::string>> commands = {{"rollback"},
                                                          {"rollback", "--dry-run"},
                                                          {"rollback", "--to", "1"},
                                                          {"repair"},
                                                          {"repair", "--dry-run"},
                                                          {"deploy", "--label", "1"},
                                                          {"deploy", "--label", "1", "--dry-run"}};
  for (const auto& command : commands) {
    const auto refused = rig.run(command);
    INFO(util::join(command, " ") << "\n" << refused.err);
    CHECK(refused.exit_code == 2);
    const auto errors = error_lines(refused);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] ==
          "deploy-pipeline: error: HAProxy backend 'web' (" + rig.haproxy.socket().string() +
              ") uses the static algorithm static-rr, which takes no servers at runtime; give backend 'web' "
              "'balance roundrobin' or 'balance leastconn', reload HAProxy, then run the command again");
    // Nothing marked, recorded or written: no intent, no managed block rewritten.
    CHECK(rig.verdict("2") == "unknown");
    CHECK(rig.history() == history);
    CHECK(rig.haproxy_cfg() == haproxy_cfg);
    CHECK_FALSE(rig.intent_left());
  }
  CHECK(http_get(rig.haproxy.url()).second == "2\n");
  // Status said "no problems" (exit 0) while every switch was refused: it says so first.
  const auto status = rig.run({"status"});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("problems:\n  - HAProxy backend 'web' (" + rig.haproxy.socket().string() +
                                         ") uses the static algorithm static-rr, which takes no servers at runtime; "
                                         "give backend 'web' 'balance roundrobin' or 'balance leastconn', reload "
                                         "HAProxy, then run the command again; do that first: every deploy, rollback "
                                         "and repair is refused until then"));
}

TEST_CASE(
    "a hash algorithm without hash-type consistent is refused at the look; one the look cannot tell leaves "
    "the rollback refused by HAProxy with nothing marked",
    "[e2e][algorithms]") {
  StaticAlgorithmRig rig("balance source");
  const auto history = rig.history();
  const auto at_look = rig.run({"rollback", "--dry-run"});
  INFO(at_look.err);
  CHECK(at_look.exit_code == 2);
  CHECK_THAT(at_look.err,
             Catch::Contains("uses the hash algorithm source without 'hash-type consistent' in " +
                             rig.haproxy.config_file().string() +
                             ", so it takes no servers at runtime; add 'hash-type consistent' to backend 'web' "
                             "(keeping 'balance source'), reload HAProxy, then run the command again"));
  const auto refused_at_look = rig.run({"rollback"});
  CHECK(refused_at_look.exit_code == 2);
  CHECK(rig.verdict("2") == "unknown");
  CHECK(rig.history() == history);

  // The file says consistent, but HAProxy was not reloaded: the look lets the rollback go on, it
  // marks pool 2 bad, and HAProxy refuses its first change. Nothing changed, so nothing stays.
  rig.edit_backend("balance source", "balance source\n    hash-type consistent");
  const auto refused = rig.run({"rollback", "--reason", "errors"});
  INFO(refused.err);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("marked pool 2 bad: errors"));
  CHECK_THAT(refused.err, Catch::Contains("pool 2 is no longer marked bad: the rollback changed nothing"));
  CHECK_THAT(refused.err, Catch::Contains("the balancer was not changed (2 still serves)"));
  CHECK(rig.verdict("2") == "unknown");
  CHECK_FALSE(rig.intent_left());
  // History says someone tried and was refused; a refused rollback marks nothing there either.
  CHECK(rig.newest_event(3) == "rollback 1 refused");
  CHECK(http_get(rig.haproxy.url()).second == "2\n");

  // A deploy refused the same way changed nothing either: one line with the advice for a hash
  // algorithm (hash-type consistent, keeping it), and history has it refused, not failed.
  const auto deploy = rig.run({"deploy", "--label", "1"});
  INFO(deploy.err);
  CHECK(deploy.exit_code == 2);
  const auto errors = error_lines(deploy);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::StartsWith("deploy-pipeline: error: deploy of pool 1: HAProxy backend 'web' (" +
                                          rig.haproxy.socket().string() +
                                          ") takes no servers at runtime with its algorithm source (it answered "
                                          "'add server web/1:1 "));
  CHECK_THAT(errors[0], Catch::EndsWith("with 'Backend must use a dynamic load balancing to support dynamic "
                                        "servers'): add 'hash-type consistent' to backend 'web' (keeping 'balance "
                                        "source'), then reload HAProxy; the balancer was not changed (2 still "
                                        "serves); run the same command again once the configuration is fixed"));
  CHECK_FALSE(rig.intent_left());
  CHECK(rig.newest_event(4) == "deploy 1 refused");
  CHECK(http_get(rig.haproxy.url()).second == "2\n");
}

// A rollback to a hot standby keeps the new membership in haproxy.cfg before it admits the pool;
// HAProxy refuses the admission (a weight in a backend that hashes map-based). The running
// balancer did not change, and neither does the file in the end: a reload after the fix does not
// make the refused rollback.
TEST_CASE("a rollback to a hot standby refused by HAProxy leaves haproxy.cfg and the verdicts as they were",
          "[e2e][algorithms][hot]") {
  StaticAlgorithmRig rig("balance source", 1);
  rig.edit_backend("balance source", "balance source\n    hash-type consistent");  // not reloaded
  const auto haproxy_cfg = rig.haproxy_cfg();
  const auto refused = rig.run({"rollback", "--reason", "errors"});
  INFO(refused.err);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("only accepts weights"));
  CHECK_THAT(refused.err, Catch::Contains("the balancer was not changed (2 still serves)"));
  CHECK(rig.haproxy_cfg() == haproxy_cfg);
  CHECK(rig.verdict("2") == "unknown");
  CHECK_FALSE(rig.intent_left());
  rig.haproxy.reload();  // HAProxy now hashes consistently, and routes to what it ran before
  CHECK(http_get(rig.haproxy.url()).second == "2\n");
}
