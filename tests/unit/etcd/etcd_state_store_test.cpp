#include "shared/etcd/etcd_state_store.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_etcd.hpp"
#include "fakes/fake_http_client.hpp"
#include "shared/core/records.hpp"
#include "shared/util/strings.hpp"

using namespace phoenix;
using namespace phoenix::etcd;
using phoenix::fakes::FakeEtcd;
using phoenix::fakes::FakeHttpClient;

namespace {

const std::string kStoreFirst = "http://127.0.0.1:2379";
const std::string kStoreSecond = "http://127.0.0.2:2379";

// One CI agent: its own HTTP clients and store, talking to the shared fake etcd.
struct EtcdAgent {
  EtcdAgent(FakeEtcd& etcd, std::string host_name, std::size_t history_keep = 10000)
      : http(etcd.handler()),
        host(std::move(host_name)),
        store(
            EtcdSettings{.endpoints = {kStoreFirst, kStoreSecond},
                         .prefix = "/phoenix",
                         .service = "web",
                         .lease_ttl = std::chrono::seconds(15),
                         .timeout = std::chrono::milliseconds(500),
                         .history_keep = history_keep},
            http,
            [&etcd, this] {
              ++keeper_clients;
              return std::make_unique<FakeHttpClient>(etcd.handler());
            },
            host, clock) {}

  LockHolder holder(long pid, const std::string& job = "gocd web-deploy/7/switch/1/deploy") const {
    LockHolder value;
    value.host = host;
    value.pid = pid;
    value.job = job;
    value.command = "deploy --label 42";
    value.since = clock.wall_now();
    return value;
  }

  fakes::FakeClock clock;
  FakeHttpClient http;
  int keeper_clients = 0;
  std::string host;
  EtcdStateStore store;
};

LockRequest etcd_lock_request(const LockHolder& holder) {
  LockRequest request;
  request.holder = holder;
  return request;
}

Intent etcd_intent_to(const std::string& target, const LockHolder& by) {
  Intent intent;
  intent.target = target;
  intent.by = by;
  intent.steps = 6;
  return intent;
}

HistoryEvent etcd_event(HistoryAction action, const std::string& label, HistoryResult result) {
  HistoryEvent value;
  value.action = action;
  value.label = label;
  value.result = result;
  value.by = "sre1";
  return value;
}

util::Json etcd_call_body(const FakeEtcd::Call& call) {
  auto document = util::parse_json(call.body, call.method);
  REQUIRE(document.ok());
  return std::move(*document);
}

std::string decoded_field(const cJSON* object, const char* field) {
  return base64_decode(util::json_string(object, field).value_or("")).value_or("<not base64>");
}

}  // namespace

TEST_CASE("the lock is a key created only when absent, bound to a fresh lease", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1");
  const LockHolder holder = agent.holder(100);
  REQUIRE(agent.store.acquire_lock(etcd_lock_request(holder)).ok());

  const auto grants = etcd.calls_to("lease/grant");
  REQUIRE(grants.size() == 1);
  CHECK(grants[0].body == R"({"TTL":15})");
  const auto txns = etcd.calls_to("kv/txn");
  REQUIRE(txns.size() == 1);
  const auto body = etcd_call_body(txns[0]);
  const cJSON* compare = cJSON_GetArrayItem(cJSON_GetObjectItem(body.get(), "compare"), 0);
  CHECK(decoded_field(compare, "key") == "/phoenix/web/lock");
  CHECK(util::json_string(compare, "target") == "CREATE");
  CHECK(util::json_string(compare, "create_revision") == "0");
  const cJSON* put =
      cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(body.get(), "success"), 0), "requestPut");
  CHECK(util::json_string(put, "lease") == agent.store.lease());
  const cJSON* read =
      cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(body.get(), "failure"), 0), "requestRange");
  CHECK(decoded_field(read, "key") == "/phoenix/web/lock");

  CHECK(etcd.lease_of("/phoenix/web/lock") == agent.store.lease());
  auto stored = util::parse_json(*etcd.value("/phoenix/web/lock"), "lock");
  REQUIRE(stored.ok());
  auto parsed = records::lock_holder_from_json(stored->get());
  REQUIRE(parsed.ok());
  CHECK(parsed->host == "agent-1");
  CHECK(parsed->pid == 100);
  CHECK(agent.keeper_clients == 1);  // the keeper got a client of its own

  auto read_back = agent.store.read_lock();
  REQUIRE(read_back.ok());
  REQUIRE(read_back->has_value());
  CHECK((*read_back)->job == "gocd web-deploy/7/switch/1/deploy");
}

TEST_CASE("a second agent is refused with exit 3 naming the holder, and gives its lease back", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent first(etcd, "agent-1");
  EtcdAgent second(etcd, "agent-2");
  REQUIRE(first.store.acquire_lock(etcd_lock_request(first.holder(100))).ok());
  auto refused = second.store.acquire_lock(etcd_lock_request(second.holder(200, "jenkins web-deploy #9")));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK(exit_code_for(refused.error().kind) == 3);
  CHECK(refused.error().is(ErrorCode::lock_held));
  CHECK_THAT(
      refused.error().message,
      Catch::Contains("another deploy holds the lock: pid 100 on agent-1 (job gocd web-deploy/7/switch/1/deploy)"));
  CHECK(etcd.leases() == std::set<std::string>{first.store.lease()});
  CHECK(second.store.lease().empty());
  CHECK(etcd.lease_of("/phoenix/web/lock") == first.store.lease());
}

TEST_CASE("keep_lock renews the lease and confirms the key is still bound to it", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1");
  const LockHolder holder = agent.holder(100);
  REQUIRE(agent.store.acquire_lock(etcd_lock_request(holder)).ok());
  const auto before = etcd.calls_to("lease/keepalive").size();
  REQUIRE(agent.store.keep_lock(holder).ok());
  CHECK(etcd.calls_to("lease/keepalive").size() == before + 1);

  SECTION("a lost lease stops the holder before its next step") {
    etcd.expire_lease(agent.store.lease());
    auto kept = agent.store.keep_lock(holder);
    REQUIRE_FALSE(kept.ok());
    CHECK(kept.error().kind == ErrorKind::refused);
    CHECK(kept.error().is(ErrorCode::lock_held));
    CHECK_THAT(kept.error().message, Catch::Contains("the deploy lock is no longer ours: its lease was lost"));
    CHECK_THAT(kept.error().message, Catch::Contains("stopping before the next step"));
  }
  SECTION("a lock rebound to another lease (taken over) stops the holder, naming the new one") {
    LockHolder other = holder;
    other.host = "agent-2";
    other.pid = 7;
    etcd.put("/phoenix/web/lock", util::print_json(records::to_json(other).get()));
    auto kept = agent.store.keep_lock(holder);
    REQUIRE_FALSE(kept.ok());
    CHECK(kept.error().is(ErrorCode::lock_held));
    CHECK_THAT(kept.error().message, Catch::Contains("taken over by pid 7 on agent-2"));
  }
  SECTION("another process (same host, other pid) does not hold it") {
    auto kept = agent.store.keep_lock(agent.holder(101));
    REQUIRE_FALSE(kept.ok());
    CHECK(kept.error().is(ErrorCode::lock_held));
  }
  SECTION("etcd unreachable: the step does not run, exit 4") {
    etcd.make_unreachable(kStoreFirst);
    etcd.make_unreachable(kStoreSecond);
    auto kept = agent.store.keep_lock(holder);
    REQUIRE_FALSE(kept.ok());
    CHECK(kept.error().kind == ErrorKind::unavailable);
  }
}

TEST_CASE("release revokes the lease: the key goes and the next agent takes the lock", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent first(etcd, "agent-1");
  EtcdAgent second(etcd, "agent-2");
  const LockHolder holder = first.holder(100);
  REQUIRE(first.store.acquire_lock(etcd_lock_request(holder)).ok());
  const std::string lease = first.store.lease();
  REQUIRE(first.store.release_lock(first.holder(999)).ok());  // not the holder: nothing happens
  CHECK(etcd.value("/phoenix/web/lock").has_value());
  REQUIRE(first.store.release_lock(holder).ok());
  REQUIRE(etcd.calls_to("lease/revoke").size() == 1);
  CHECK(etcd.calls_to("lease/revoke")[0].body == R"({"ID":")" + lease + R"("})");
  CHECK_FALSE(etcd.value("/phoenix/web/lock").has_value());
  CHECK(etcd.leases().empty());
  CHECK(second.store.acquire_lock(etcd_lock_request(second.holder(200))).ok());
}

TEST_CASE("a killed holder's lock goes with its lease, with no --break-lock", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent first(etcd, "agent-1");
  EtcdAgent second(etcd, "agent-2");
  REQUIRE(first.store.acquire_lock(etcd_lock_request(first.holder(100))).ok());
  REQUIRE_FALSE(second.store.acquire_lock(etcd_lock_request(second.holder(200))).ok());
  etcd.expire_lease(first.store.lease());  // one TTL after the holder stopped renewing
  CHECK(second.store.acquire_lock(etcd_lock_request(second.holder(200))).ok());
}

TEST_CASE("a stale lock is taken over only with --break-lock, and the old holder stops", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent old(etcd, "agent-1");
  EtcdAgent agent(etcd, "agent-2");
  const LockHolder old_holder = old.holder(100);
  REQUIRE(old.store.acquire_lock(etcd_lock_request(old_holder)).ok());
  agent.clock.advance(std::chrono::hours(2));  // older than the 1 h limit
  LockRequest request = etcd_lock_request(agent.holder(200));
  auto refused = agent.store.acquire_lock(request);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("the deploy lock is stale: it is 7200 s old"));
  CHECK_THAT(refused.error().message, Catch::Contains("re-run with --break-lock"));

  request.break_lock = true;
  auto taken = agent.store.acquire_lock(request);
  REQUIRE(taken.ok());
  REQUIRE(taken->taken_over.has_value());
  REQUIRE(taken->taken_over->holder.has_value());
  CHECK(taken->taken_over->holder->pid == 100);
  CHECK(etcd.lease_of("/phoenix/web/lock") == agent.store.lease());
  auto kept = old.store.keep_lock(old_holder);
  REQUIRE_FALSE(kept.ok());
  CHECK_THAT(kept.error().message, Catch::Contains("taken over by pid 200 on agent-2"));
  // Nor may the old holder touch the intent of the new one.
  REQUIRE(agent.store.write_intent(etcd_intent_to("43", agent.holder(200))).ok());
  auto written = old.store.write_intent(etcd_intent_to("42", old_holder));
  REQUIRE_FALSE(written.ok());
  CHECK(written.error().is(ErrorCode::lock_held));
  REQUIRE_FALSE(old.store.clear_intent().ok());
  auto intent = agent.store.read_intent();
  REQUIRE(intent.ok());
  REQUIRE(intent->has_value());
  CHECK((*intent)->target == "43");
}

TEST_CASE("the intent is written only under the holder's lease", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1");
  EtcdAgent other(etcd, "agent-2");
  const LockHolder holder = agent.holder(100);
  REQUIRE(agent.store.acquire_lock(etcd_lock_request(holder)).ok());
  REQUIRE(agent.store.write_intent(etcd_intent_to("42", holder)).ok());

  const auto body = etcd_call_body(etcd.calls_to("kv/txn").back());
  const cJSON* compare = cJSON_GetArrayItem(cJSON_GetObjectItem(body.get(), "compare"), 0);
  CHECK(decoded_field(compare, "key") == "/phoenix/web/lock");
  CHECK(util::json_string(compare, "target") == "LEASE");
  CHECK(util::json_string(compare, "lease") == agent.store.lease());

  auto foreign = other.store.write_intent(etcd_intent_to("99", other.holder(200)));
  REQUIRE_FALSE(foreign.ok());
  CHECK(foreign.error().is(ErrorCode::lock_held));
  CHECK_THAT(foreign.error().message, Catch::Contains("held by pid 100 on agent-1"));

  etcd.expire_lease(agent.store.lease());
  auto late = agent.store.write_intent(etcd_intent_to("42", holder));
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().kind == ErrorKind::refused);
  CHECK_THAT(late.error().message, Catch::Contains("no longer ours"));

  // Nobody holds the lock now: a command without one (status after a crash, a test) may write.
  CHECK(other.store.write_intent(etcd_intent_to("7", other.holder(200))).ok());
  REQUIRE(other.store.clear_intent().ok());
  auto cleared = other.store.read_intent();
  REQUIRE(cleared.ok());
  CHECK_FALSE(cleared->has_value());
}

TEST_CASE("freeze: written, read and cleared, each by one transaction", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1");
  Freeze freeze;
  freeze.reason = "black friday";
  freeze.all = true;
  freeze.by = "sre1";
  REQUIRE(agent.store.replace_freeze(std::nullopt, freeze).ok());
  CHECK(etcd.calls_to("kv/txn").size() == 1);
  auto read = agent.store.read_freeze();
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  CHECK((*read)->reason == "black friday");
  CHECK((*read)->all);
  REQUIRE(agent.store.replace_freeze(*read, std::nullopt).ok());
  CHECK(etcd.calls_to("kv/txn").size() == 2);
  read = agent.store.read_freeze();
  REQUIRE(read.ok());
  CHECK_FALSE(read->has_value());
}

TEST_CASE("history is bounded: a counter, chunks of 100 events, exactly the newest history.keep shown",
          "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1", 10);
  for (int i = 1; i <= 125; ++i) {
    const auto result = i == 124 ? HistoryResult::failed : HistoryResult::succeeded;
    REQUIRE(agent.store.append_history(etcd_event(HistoryAction::deploy, std::to_string(i), result)).ok());
  }
  REQUIRE(agent.store.append_history(etcd_event(HistoryAction::delete_pool, "3", HistoryResult::succeeded)).ok());
  // Chunk 0 (events 1-100) went once all its events were older than the newest 10.
  CHECK(etcd.keys("/phoenix/web/history/") == std::vector<std::string>{"/phoenix/web/history/00000000000000000001"});
  CHECK(util::split_lines(*etcd.value("/phoenix/web/history/00000000000000000001")).size() == 26);
  CHECK(etcd.value("/phoenix/web/history-seq") == "126");

  auto log = agent.store.read_history();
  REQUIRE(log.ok());
  REQUIRE(log->events.size() == 10);
  CHECK(log->events.front().label == "117");
  CHECK(log->events.back().action == HistoryAction::delete_pool);
  CHECK(log->unreadable.empty());

  // The last successful switch comes from one key, written in the append's transaction.
  const auto reads = etcd.calls_to("kv/range").size();
  auto last = agent.store.last_switch();
  REQUIRE(last.ok());
  REQUIRE(last->has_value());
  CHECK((*last)->label == "125");  // not 124 (failed), not the delete
  CHECK(etcd.calls_to("kv/range").size() == reads + 1);
}

TEST_CASE("history beyond its limit keeps whole chunks and shows the newest history.keep", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1", 150);
  for (int i = 1; i <= 260; ++i) {
    REQUIRE(agent.store.append_history(etcd_event(HistoryAction::deploy, std::to_string(i), HistoryResult::succeeded))
                .ok());
  }
  CHECK(etcd.keys("/phoenix/web/history/").size() == 2);  // events 101-260: never more than keep + 99
  auto log = agent.store.read_history();
  REQUIRE(log.ok());
  REQUIRE(log->events.size() == 150);
  CHECK(log->events.front().label == "111");
  CHECK(log->events.back().label == "260");
}

TEST_CASE("an append is one transaction conditioned on the counter", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1", 10);
  REQUIRE(agent.store.append_history(etcd_event(HistoryAction::deploy, "1", HistoryResult::succeeded)).ok());
  const auto body = etcd_call_body(etcd.calls_to("kv/txn").back());
  const cJSON* compare = cJSON_GetArrayItem(cJSON_GetObjectItem(body.get(), "compare"), 0);
  CHECK(decoded_field(compare, "key") == "/phoenix/web/history-seq");
  CHECK(util::json_string(compare, "target") == "MOD");
  CHECK(util::json_string(compare, "mod_revision") == "0");  // no counter yet
  std::vector<std::string> written;
  const cJSON* operation = nullptr;
  cJSON_ArrayForEach(operation, cJSON_GetObjectItem(body.get(), "success")) {
    written.push_back(decoded_field(cJSON_GetObjectItem(operation, "requestPut"), "key"));
  }
  CHECK(written == std::vector<std::string>{"/phoenix/web/history-seq", "/phoenix/web/history/00000000000000000000",
                                            "/phoenix/web/last-switch"});
  REQUIRE(agent.store.append_history(etcd_event(HistoryAction::deploy, "2", HistoryResult::failed)).ok());
  const auto second = etcd_call_body(etcd.calls_to("kv/txn").back());
  compare = cJSON_GetArrayItem(cJSON_GetObjectItem(second.get(), "compare"), 0);
  CHECK(util::json_string(compare, "mod_revision") != "0");
}

TEST_CASE("two agents appending at once both land, in order, neither overwritten", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent other(etcd, "agent-2");
  bool raced = false;
  // Agent 1's first transaction finds that agent 2 appended between its read and its write.
  FakeHttpClient racing([&](const HttpRequest& request) -> Result<HttpResponse> {
    if (!raced && request.url.find("/v3/kv/txn") != std::string::npos) {
      raced = true;
      REQUIRE(
          other.store.append_history(etcd_event(HistoryAction::deploy, "from-agent-2", HistoryResult::succeeded)).ok());
    }
    return etcd.handle(request);
  });
  fakes::FakeClock clock;
  EtcdStateStore store(
      EtcdSettings{.endpoints = {kStoreFirst}, .service = "web"}, racing,
      [&etcd] { return std::make_unique<FakeHttpClient>(etcd.handler()); }, "agent-1", clock);
  REQUIRE(store.append_history(etcd_event(HistoryAction::rollback, "from-agent-1", HistoryResult::succeeded)).ok());
  CHECK(raced);
  const auto lines = util::split_lines(*etcd.value("/phoenix/web/history/00000000000000000000"));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("from-agent-2") != std::string::npos);
  CHECK(lines[1].find("from-agent-1") != std::string::npos);
  CHECK(etcd.value("/phoenix/web/history-seq") == "2");
  CHECK(etcd.value("/phoenix/web/last-switch")->find("from-agent-1") != std::string::npos);
}

TEST_CASE("an append resent after a timeout is not recorded twice", "[etcd][state]") {
  FakeEtcd etcd;
  bool timed_out = false;
  // The first endpoint applies the transaction, then the answer is lost; the gateway resends
  // it to the second endpoint, whose comparison fails because the first one applied it.
  FakeHttpClient lossy([&](const HttpRequest& request) -> Result<HttpResponse> {
    auto answer = etcd.handle(request);
    if (!timed_out && request.url == kStoreFirst + "/v3/kv/txn") {
      timed_out = true;
      return Error{ErrorKind::timeout, "POST " + request.url + ": timed out"};
    }
    return answer;
  });
  fakes::FakeClock clock;
  EtcdStateStore store(
      EtcdSettings{.endpoints = {kStoreFirst, kStoreSecond}, .service = "web"}, lossy,
      [&etcd] { return std::make_unique<FakeHttpClient>(etcd.handler()); }, "agent-1", clock);
  REQUIRE(store.append_history(etcd_event(HistoryAction::deploy, "1", HistoryResult::succeeded)).ok());
  CHECK(timed_out);
  CHECK(util::split_lines(*etcd.value("/phoenix/web/history/00000000000000000000")).size() == 1);
  CHECK(etcd.value("/phoenix/web/history-seq") == "1");
}

TEST_CASE("a full history is read in pages of one snapshot", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1");
  std::string chunk;
  for (int i = 1; i <= 6000; ++i) {
    const auto record =
        records::to_json(etcd_event(HistoryAction::deploy, std::to_string(i), HistoryResult::succeeded));
    chunk += (i == 4321 ? std::string("{torn") : util::print_json(record.get())) + "\n";
    if (i % 100 == 0) {
      etcd.put("/phoenix/web/" + EtcdStateStore::history_chunk_name(i), chunk);
      chunk.clear();
    }
  }
  const auto before = etcd.calls_to("kv/range").size();
  auto log = agent.store.read_history();
  REQUIRE(log.ok());
  const auto pages = etcd.calls_to("kv/range");
  REQUIRE(pages.size() == before + 2);  // 60 chunks, 50 a page
  const auto first = etcd_call_body(pages[before]);
  CHECK(util::json_string(first.get(), "limit") == "50");
  CHECK_FALSE(cJSON_HasObjectItem(first.get(), "revision"));
  const auto second = etcd_call_body(pages[before + 1]);
  CHECK(util::json_string(second.get(), "revision") == std::to_string(etcd.revision()));
  REQUIRE(log->events.size() == 5999);
  CHECK(log->events.front().label == "1");
  CHECK(log->events.back().label == "6000");
  REQUIRE(log->unreadable.size() == 1);
  CHECK_THAT(log->unreadable[0],
             Catch::StartsWith("etcd key /phoenix/web/history/00000000000000000043:21: unreadable record: {torn"));
}

TEST_CASE("etcd unreachable: exit 4 naming the endpoints, nothing changed", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1");
  etcd.make_unreachable(kStoreFirst);
  etcd.lose_quorum(kStoreSecond);
  auto taken = agent.store.acquire_lock(etcd_lock_request(agent.holder(100)));
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.error().kind == ErrorKind::unavailable);
  CHECK(exit_code_for(taken.error().kind) == 4);
  CHECK_THAT(taken.error().message, Catch::Contains(kStoreFirst));
  CHECK_THAT(taken.error().message, Catch::Contains(kStoreSecond));
  CHECK(etcd.leases().empty());
  CHECK(etcd.keys("/").empty());
  CHECK(agent.keeper_clients == 0);
  for (const auto& status :
       {agent.store.append_history(etcd_event(HistoryAction::deploy, "1", HistoryResult::succeeded)),
        agent.store.replace_freeze(std::nullopt, Freeze{})}) {
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == ErrorKind::unavailable);
  }
  CHECK(agent.store.read_lock().error().kind == ErrorKind::unavailable);
  CHECK(agent.store.last_switch().error().kind == ErrorKind::unavailable);
}

TEST_CASE("unreadable records name their key", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1");
  etcd.put("/phoenix/web/intent", "not json");
  auto intent = agent.store.read_intent();
  REQUIRE_FALSE(intent.ok());
  CHECK_THAT(intent.error().message, Catch::Contains("etcd key /phoenix/web/intent"));
  etcd.put("/phoenix/web/history-seq", "seven");
  auto appended = agent.store.append_history(etcd_event(HistoryAction::deploy, "1", HistoryResult::succeeded));
  REQUIRE_FALSE(appended.ok());
  CHECK_THAT(appended.error().message, Catch::Contains("not a sequence number"));
}

TEST_CASE("the store describes where it keeps things", "[etcd][state]") {
  FakeEtcd etcd;
  EtcdAgent agent(etcd, "agent-1");
  CHECK(agent.store.describe() == "etcd " + kStoreFirst + ", " + kStoreSecond + " (keys under /phoenix/web/)");
}
