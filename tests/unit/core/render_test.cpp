#include "shared/core/render.hpp"

#include <catch2/catch.hpp>
#include <iterator>
#include <sstream>

#include "fakes/fake_provider.hpp"
#include "shared/core/status.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"
#include "support/harness.hpp"
#include "support/json_fields.hpp"

using namespace phoenix;
using phoenix::fakes::FakeProvider;

namespace {

RecoverySummary sample_summary() {
  RecoverySummary summary;
  summary.events = 12;
  summary.since = *util::parse_iso8601("2026-10-30T10:00:00Z");
  summary.months = {MonthSummary{.month = "2026-12", .deploys = 1}, MonthSummary{.month = "2026-11",
                                                                                 .deploys = 3,
                                                                                 .rollbacks = 2,
                                                                                 .auto_rollbacks = 1,
                                                                                 .recoveries = 3,
                                                                                 .median_recovery_ms = 600000,
                                                                                 .worst_recovery_ms = 1800000}};
  return summary;
}

// One pool in each tier: 4 live, 3 hot, 2 running, 1 off, 0 cold.
PoolListing four_tiers() {
  FakeProvider provider;
  for (int i = 0; i <= 4; ++i) {
    Pool& pool = provider.add_pool(std::to_string(i), 2, 100 - i);
    pool.server_type = "cx22";
    pool.location = "nbg1";
  }
  provider.pools[1].power = PowerState::off;
  for (auto& server : provider.pools[1].servers) server.state = ServerState::stopped;
  provider.pools[0].servers.clear();
  provider.pools[0].archive = Archive{.id = "9001", .ready = true, .size_gb = 0.78, .servers = 2};
  provider.pools[4].meta.last_wake = WakeRecord{Tier::cold, 41230, WallTime(std::chrono::hours(400000))};
  PoolListing listing;
  listing.service = "web";
  listing.pools = provider.pools;
  sort_newest_first(listing.pools);
  listing.live = {"4"};
  listing.hot = {"3"};
  listing.in_balancer = {"4", "3"};
  listing.tiers = {.off = true, .off_is_billed = true, .cold = true};
  listing.prices = PriceSheet{.currency = "EUR", .servers = {{"cx22", "nbg1", 3.79}}, .archive_per_gb_month = 0.011};
  return listing;
}

// The cell of `column` in the row of pool `label`: the table's columns start where their
// headers do.
std::string cell(const std::string& table, const std::string& label, const std::string& column) {
  const auto lines = util::split_lines(table);
  const auto start = lines.front().find(column);
  const auto next = lines.front().find_first_not_of(' ', lines.front().find(' ', start));
  for (const auto& line : lines) {
    if (line.compare(0, label.size() + 1, label + " ") != 0) continue;
    const std::string text = line.substr(start, next == std::string::npos ? std::string::npos : next - start);
    return std::string(util::trim(text));
  }
  return "";
}

}  // namespace

TEST_CASE("history --summary renders one row per month, newest first", "[core][render][summary]") {
  const auto table = render_recovery_table(sample_summary(), {"history.jsonl:3: not JSON"});
  CHECK_THAT(table, Catch::StartsWith("MONTH"));
  CHECK_THAT(table, Catch::Contains("MEDIAN TTR"));
  const auto december = table.find("2026-12");
  const auto november = table.find("2026-11");
  REQUIRE(december != std::string::npos);
  REQUIRE(november != std::string::npos);
  CHECK(december < november);
  CHECK_THAT(table, Catch::Contains("10 min 00 s"));
  CHECK_THAT(table, Catch::Contains("30 min 00 s"));
  CHECK_THAT(table, Catch::Contains("from 12 history events since 2026-10-30T10:00:00Z"));
  CHECK_THAT(table, Catch::Contains("unreadable: history.jsonl:3: not JSON"));
  CHECK(render_recovery_table({}, {}) == "no deploys or rollbacks yet\n");
}

TEST_CASE("history --summary --output json has every figure, null where there is none", "[core][render][summary]") {
  const auto text = render_recovery_json("web", sample_summary(), {});
  auto document = util::parse_json(text, "summary");
  REQUIRE(document.ok());
  CHECK(util::json_string(document->get(), "service") == "web");
  CHECK(util::json_number(document->get(), "events") == 12);
  CHECK(util::json_string(document->get(), "since") == "2026-10-30T10:00:00.000Z");
  const cJSON* months = cJSON_GetObjectItemCaseSensitive(document->get(), "months");
  REQUIRE(cJSON_GetArraySize(months) == 2);
  const cJSON* december = cJSON_GetArrayItem(months, 0);
  CHECK(util::json_string(december, "month") == "2026-12");
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(december, "median_recovery_ms")));
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(december, "worst_recovery_ms")));
  const cJSON* november = cJSON_GetArrayItem(months, 1);
  CHECK(util::json_number(november, "deploys") == 3);
  CHECK(util::json_number(november, "rollbacks") == 2);
  CHECK(util::json_number(november, "auto_rollbacks") == 1);
  CHECK(util::json_number(november, "recoveries") == 3);
  CHECK(util::json_number(november, "median_recovery_ms") == 600000);
  CHECK(util::json_number(november, "worst_recovery_ms") == 1800000);
  CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(document->get(), "unreadable")));
}

TEST_CASE("times to recover read as people say them", "[core][render][summary]") {
  CHECK(format_recovery_time(850) == "850 ms");
  CHECK(format_recovery_time(12400) == "12.40 s");
  CHECK(format_recovery_time(4 * 60000 + 3000) == "4 min 03 s");
  CHECK(format_recovery_time(2 * 3600000LL + 5 * 60000) == "2 h 05 min");
  CHECK(format_recovery_time(3 * 86400000LL + 4 * 3600000LL) == "3 d 4 h");
}

TEST_CASE("list shows each pool's tier, monthly cost and the last wake time of its tier", "[render][tiers]") {
  const auto listing = four_tiers();
  const auto table = render_pools_table(listing);
  INFO(table);
  CHECK_THAT(table, Catch::Contains("TIER"));
  CHECK(cell(table, "4", "TIER") == "live");
  CHECK(cell(table, "3", "TIER") == "hot");
  CHECK(cell(table, "2", "TIER") == "running");
  CHECK(cell(table, "1", "TIER") == "off");
  CHECK(cell(table, "0", "TIER") == "cold");
  CHECK(cell(table, "1", "COST/MONTH") == "EUR 7.58");  // 2 x cx22: powered off saves nothing
  CHECK(cell(table, "0", "COST/MONTH") == "EUR 0.01");  // the snapshot
  CHECK(cell(table, "0", "WAKE") == "41.23 s");         // the last wake from cold
  CHECK(cell(table, "1", "WAKE") == "not measured");    // none from off yet
  CHECK(cell(table, "3", "WAKE") == "none (on standby)");
  CHECK(cell(table, "0", "SERVERS") == "0 (snapshot, 2 servers)");
  CHECK_THAT(table, Catch::Contains("billed like a running one"));

  const auto document = util::parse_json(render_pools_json(listing), "list");
  REQUIRE(document);
  std::map<std::string, const cJSON*> pools;
  const cJSON* pool = nullptr;
  cJSON_ArrayForEach(pool, cJSON_GetObjectItem(document->get(), "pools")) {
    pools[cJSON_GetObjectItem(pool, "label")->valuestring] = pool;
  }
  CHECK(std::string(cJSON_GetObjectItem(pools["0"], "tier")->valuestring) == "cold");
  const cJSON* cost = cJSON_GetObjectItem(pools["0"], "monthly_cost");
  CHECK(util::json_number(cost, "amount").value_or(0) == Approx(0.78 * 0.011));
  CHECK(util::json_string(cost, "currency").value_or("") == "EUR");
  const cJSON* wake = cJSON_GetObjectItem(pools["0"], "wake");
  CHECK(util::json_number(wake, "ms").value_or(0) == 41230);
  CHECK(util::json_string(wake, "pool").value_or("") == "4");
  CHECK(util::json_string(cJSON_GetObjectItem(pools["0"], "archive"), "id").value_or("") == "9001");
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(pools["1"], "wake")));
  CHECK(std::string(cJSON_GetObjectItem(pools["3"], "tier")->valuestring) == "hot");

  // The local provider has no prices: no cost, and no claim about one.
  PoolListing local = listing;
  local.prices.reset();
  CHECK(cell(render_pools_table(local), "2", "COST/MONTH") == "-");
  CHECK(cJSON_IsNull(cJSON_GetObjectItem(
      cJSON_GetArrayItem(cJSON_GetObjectItem(util::parse_json(render_pools_json(local), "list")->get(), "pools"), 0),
      "monthly_cost")));
}

TEST_CASE("a plan to a retained pool starts by waking it", "[render][tiers]") {
  SwitchPlan plan;
  plan.target = "40";
  plan.from = {"42"};
  plan.wake = Tier::cold;
  const auto text = render_plan(plan);
  CHECK_THAT(text, Catch::Contains("1. wake pool 40 from cold: recreate its servers from its archive"));
  CHECK_THAT(text, Catch::Contains("planned once its servers exist"));
  CHECK_THAT(text, !Catch::Contains("nothing to do"));
}

TEST_CASE("a plan's header says what is live now, the target too when it is", "[render]") {
  SwitchPlan plan;
  plan.target = "1";
  plan.from = {"2"};
  CHECK_THAT(render_plan(plan), Catch::StartsWith("plan: make pool 1 live (replacing 2)\n"));
  plan.live = {"2"};
  CHECK_THAT(render_plan(plan), Catch::StartsWith("plan: make pool 1 live (replacing 2)\n"));
  // Both live at once: an interrupted switch.
  plan.live = {"1", "2"};
  CHECK_THAT(render_plan(plan), Catch::StartsWith("plan: make pool 1 live (live now: 1, 2; replacing 2)\n"));
  // The target alone is live (the old pool is draining, or gone).
  plan.from = {};
  plan.live = {"1"};
  CHECK_THAT(render_plan(plan), Catch::StartsWith("plan: make pool 1 live (live now: 1)\n"));
  plan.live = {};
  CHECK_THAT(render_plan(plan), Catch::StartsWith("plan: make pool 1 live (nothing is live now)\n"));
}

// A dry run's plan words the persist step and the running membership as its balancer keeps them
// (SwitchPlan::keeping): a rollback at runtime only never plans to "keep" what it will not write.
TEST_CASE("a plan words keeping the membership as its balancer does", "[render][durable]") {
  SwitchPlan plan;
  plan.target = "1";
  plan.from = {"2"};
  Step persist{StepKind::persist, {}, {}, {}};
  persist.membership.resize(1);
  plan.steps = {persist};
  CHECK_THAT(render_plan(plan), Catch::EndsWith("  1. keep the new membership for restarts (1 member)\n"));
  plan.keeping = KeepingKind::runtime_only;
  CHECK_THAT(render_plan(plan), Catch::EndsWith("  1. not keeping the new membership for restarts (1 member): a "
                                                "reload or restart of the balancer loses it\n"));

  plan.steps.clear();
  plan.from.clear();
  plan.restart_routes = std::vector<std::string>{"2:1"};
  CHECK_THAT(render_plan(plan),
             Catch::EndsWith("  nothing to switch: it is already the only live pool\n  1. not keeping the running "
                             "membership for restarts: a reload or restart of the balancer routes to 2:1\n"));
}

// With --output json nothing is printed above the error line on stderr: the problems are in the
// document on stdout, and the line says where.
TEST_CASE("status's error line says where its problems are: above, or in the JSON's problems field",
          "[core][render][status]") {
  CHECK(status_problems_found(1, false) == "1 problem found; see above");
  CHECK(status_problems_found(2, false) == "2 problems found; see above");
  CHECK(status_problems_found(1, true) == "1 problem found; see \"problems\" in the JSON on stdout");
  CHECK_THAT(status_problems_found(3, true), !Catch::Contains("above"));
}

// A rollback refused for want of a pool to go to names none: its row still has every column.
TEST_CASE("history shows a refused rollback with no target as '-' in its label column", "[core][render][history]") {
  HistoryLog log;
  log.events.push_back(HistoryEvent{.at = *util::parse_iso8601("2026-11-27T07:00:00Z"),
                                    .action = HistoryAction::rollback,
                                    .label = "",
                                    .from = "2",
                                    .result = HistoryResult::refused,
                                    .duration_ms = 12,
                                    .by = "ops-a",
                                    .job = "",
                                    .detail = "no pool older than the live pool 2"});
  const auto lines = util::split_lines(render_history_table(log));
  REQUIRE(lines.size() == 2);
  std::istringstream row(lines[1]);
  const std::vector<std::string> fields{std::istream_iterator<std::string>(row), std::istream_iterator<std::string>()};
  REQUIRE(fields.size() >= 8);
  CHECK(fields[1] == "rollback");
  CHECK(fields[2] == "-");
  CHECK(fields[3] == "2");
  CHECK(fields[4] == "refused");
}

// The lock line said "running" for a holder that was stopped (SIGSTOP, Ctrl-Z) while the note
// about its switch said "stopped, not running": the line says what the holder is doing.
TEST_CASE("status's lock line says whether its holder runs, is stopped or is stale", "[core][render][status][lock]") {
  const std::vector<Pool> pools;
  const std::vector<Member> members;
  const LockHolder holder{.host = "agent-1",
                          .pid = 7,
                          .job = "",
                          .command = "deploy --label 2",
                          .since = *util::parse_iso8601("2026-11-26T12:00:00Z")};
  const auto lock_line = [&](bool stopped, std::optional<std::string> staleness) {
    const auto report = build_status({.service = "web",
                                      .pools = pools,
                                      .members = members,
                                      .lock = holder,
                                      .lock_staleness = std::move(staleness),
                                      .lock_holder_stopped = stopped});
    for (const auto& line : util::split_lines(render_status_table(report))) {
      if (line.rfind("lock ", 0) == 0) return line;
    }
    return std::string();
  };
  const std::string held = "lock     held by pid 7 on agent-1 since 2026-11-26T12:00:00Z, ";
  CHECK(lock_line(false, std::nullopt) == held + "running 'deploy --label 2'");
  CHECK(lock_line(true, std::nullopt) == held + "stopped (SIGSTOP/Ctrl-Z) in 'deploy --label 2'");
  CHECK(lock_line(false, "its holder (pid 7 on this host) is no longer running") ==
        held + "stale, left by 'deploy --label 2'");
}

// The standby line says "marked bad (checkout errors)", and the JSON said only "marked_bad": true,
// so monitoring that reads the JSON could not tell why a hot pool is passed over.
TEST_CASE("status --output json gives the reason a hot pool is marked bad", "[core][render][status][verdicts]") {
  StatusReport report;
  report.service = "web";
  report.standby = {StandbyPool{.label = "1", .members = 2, .up = 2, .check = "L7OK"},
                    StandbyPool{.label = "2",
                                .members = 2,
                                .up = 2,
                                .check = "L7OK",
                                .bad_mark = "marked bad (checkout errors)",
                                .bad_reason = "checkout errors"}};
  auto document = util::parse_json(render_status_json(report), "status");
  REQUIRE(document.ok());
  const cJSON* standby = cJSON_GetObjectItemCaseSensitive(document->get(), "standby");
  REQUIRE(cJSON_GetArraySize(standby) == 2);
  const cJSON* good = cJSON_GetArrayItem(standby, 0);
  CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(good, "marked_bad")));
  CHECK(util::json_string(good, "marked_bad_reason") == "");
  const cJSON* bad = cJSON_GetArrayItem(standby, 1);
  CHECK(util::json_string(bad, "pool") == "2");
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(bad, "marked_bad")));
  CHECK(util::json_string(bad, "marked_bad_reason") == "checkout errors");
}

// The lock line names the command its holder runs, was running or left the lock by; the JSON's
// `lock` had no command, so a dashboard could not say what holds the lock.
TEST_CASE("status --output json names the command of the deploy lock's holder", "[core][render][status][lock]") {
  const LockHolder holder{.host = "agent-1",
                          .pid = 7,
                          .job = "gocd web/12/switch",
                          .command = "deploy --label 2",
                          .since = *util::parse_iso8601("2026-11-26T12:00:00Z")};
  const std::vector<Pool> pools;
  const std::vector<Member> members;
  for (const bool stale : {false, true}) {
    const auto report =
        build_status({.service = "web",
                      .pools = pools,
                      .members = members,
                      .lock = holder,
                      .lock_staleness = stale ? std::optional<std::string>("its holder is gone") : std::nullopt});
    auto document = util::parse_json(render_status_json(report), "status");
    REQUIRE(document.ok());
    const cJSON* lock = cJSON_GetObjectItemCaseSensitive(document->get(), "lock");
    REQUIRE(lock != nullptr);
    CHECK(util::json_string(lock, "command") == "deploy --label 2");
    CHECK(util::json_string(lock, "state") == (stale ? "stale" : "running"));
    CHECK(util::json_string(lock, "host") == "agent-1");
    CHECK(util::json_number(lock, "pid") == 7);
    CHECK(util::json_string(lock, "job") == "gocd web/12/switch");
    CHECK(util::json_string(lock, "since") == "2026-11-26T12:00:00Z");
  }
}

namespace {

// docs/json-output.md, where every field of the JSON of list and history is described.
std::string json_output_doc() {
  const auto text = util::read_file(phoenix::testing::source_directory() / "docs" / "json-output.md");
  REQUIRE(text);
  return *text;
}

}  // namespace

// Every field the JSON of `create-pipeline list` can hold, each optional one present: the set of
// fields is the one documented, so a field added or removed without the documentation fails.
TEST_CASE("every field of list's JSON is documented, and every documented field is printed", "[render][docs]") {
  PoolListing listing = four_tiers();
  listing.balancer_error = "the balancer did not answer";
  listing.prices_error = "the prices could not be read";
  listing.pools[1].unreadable = "pool.json:1:1: invalid JSON";
  listing.pools[1].deleting = true;
  const auto document = util::parse_json(render_pools_json(listing), "list");
  REQUIRE(document);
  const auto documented =
      phoenix::testing::documented_fields(json_output_doc(), "## `create-pipeline list --output json`");
  CHECK(phoenix::testing::key_paths(document->get()) == documented);
  CHECK(documented.size() > 30);  // the table was found and read
}

TEST_CASE("every field of history's JSON is documented, and every documented field is printed", "[render][docs]") {
  HistoryLog log;
  log.events = {HistoryEvent{.at = WallTime(std::chrono::hours(400000)),
                             .action = HistoryAction::deploy,
                             .label = "2",
                             .from = "1",
                             .result = HistoryResult::succeeded,
                             .duration_ms = 1200,
                             .by = "alice",
                             .job = "gocd web-deploy/12/deploy/1/switch",
                             .detail = ""}};
  log.unreadable = {"history.jsonl:12: not JSON (a torn write?)"};
  const auto document = util::parse_json(render_history_json("web", log), "history");
  REQUIRE(document);
  const auto documented =
      phoenix::testing::documented_fields(json_output_doc(), "## `deploy-pipeline history --output json`");
  CHECK(phoenix::testing::key_paths(document->get()) == documented);
  CHECK(documented.size() > 10);
}
