#include "shared/etcd/gateway.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_etcd.hpp"
#include "fakes/fake_http_client.hpp"

using namespace phoenix;
using namespace phoenix::etcd;
using phoenix::fakes::FakeEtcd;
using phoenix::fakes::FakeHttpClient;
using phoenix::fakes::http_answer;

namespace {

const std::string kGatewayFirst = "http://127.0.0.1:2379";
const std::string kGatewaySecond = "http://127.0.0.2:2379";

GatewaySettings gateway_settings() {
  return GatewaySettings{.endpoints = {kGatewayFirst, kGatewaySecond}, .timeout = std::chrono::milliseconds(700)};
}

util::Json range_body(const std::string& key) {
  util::Json body(cJSON_CreateObject());
  util::add_string(body.get(), "key", base64_encode(key));
  return body;
}

}  // namespace

TEST_CASE("base64 is the standard alphabet with padding, both ways", "[etcd]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foob") == "Zm9vYg==");
  CHECK(base64_encode("/phoenix/web/lock") == "L3Bob2VuaXgvd2ViL2xvY2s=");
  std::string bytes;
  for (int c = 0; c < 256; ++c) bytes += static_cast<char>(c);
  CHECK(base64_encode(bytes) == fakes::fake_base64_encode(bytes));
  CHECK(base64_decode(base64_encode(bytes)) == bytes);
  CHECK(base64_decode("Zm9vYg==") == "foob");
  CHECK(base64_decode("") == "");
  for (const char* bad : {"Zg=", "Z===", "Zm9v!A==", "=Zg=", "Zg==Zg==", "Zm 9"}) {
    INFO(bad);
    CHECK_FALSE(base64_decode(bad).has_value());
  }
}

TEST_CASE("a prefix's range end is the prefix with its last byte incremented", "[etcd]") {
  CHECK(prefix_end("/phoenix/web/history/") == "/phoenix/web/history0");
  CHECK(prefix_end("a\xff") == "b");
  CHECK(prefix_end("\xff") == std::string(1, '\0'));
}

TEST_CASE("a call is a POST of JSON to /v3/<method> on the first endpoint, bounded by the timeout", "[etcd]") {
  FakeEtcd etcd;
  FakeHttpClient http(etcd.handler());
  fakes::FakeClock clock;
  Gateway gateway(http, gateway_settings(), clock);
  auto answer = gateway.call("kv/range", range_body("/k").get());
  REQUIRE(answer.ok());
  REQUIRE(http.batches.size() == 1);
  const HttpRequest& request = http.batches[0][0];
  CHECK(request.method == "POST");
  CHECK(request.url == kGatewayFirst + "/v3/kv/range");
  CHECK(request.timeout == std::chrono::milliseconds(700));
  CHECK(request.body == R"({"key":"L2s="})");
  REQUIRE(request.headers.size() == 1);
  CHECK(request.headers[0] == std::pair<std::string, std::string>{"Content-Type", "application/json"});
}

TEST_CASE("endpoints are tried in order, starting from the one that answered last", "[etcd]") {
  FakeEtcd etcd;
  FakeHttpClient http(etcd.handler());
  fakes::FakeClock clock;
  Gateway gateway(http, gateway_settings(), clock);
  etcd.make_unreachable(kGatewayFirst);
  REQUIRE(gateway.call("kv/range", range_body("/k").get()).ok());
  REQUIRE(gateway.call("kv/range", range_body("/k").get()).ok());
  const auto calls = etcd.calls();
  REQUIRE(calls.size() == 3);
  CHECK(calls[0].endpoint == kGatewayFirst);
  CHECK(calls[1].endpoint == kGatewaySecond);
  CHECK(calls[2].endpoint == kGatewaySecond);  // no second wait on the dead one
}

TEST_CASE("an endpoint without quorum is passed over like an unreachable one", "[etcd]") {
  FakeEtcd etcd;
  FakeHttpClient http(etcd.handler());
  fakes::FakeClock clock;
  Gateway gateway(http, gateway_settings(), clock);
  etcd.lose_quorum(kGatewayFirst);
  auto answer = gateway.call("kv/range", range_body("/k").get());
  REQUIRE(answer.ok());
  CHECK(etcd.calls().back().endpoint == kGatewaySecond);
}

TEST_CASE("without quorum, writes are answered with UNKNOWN: the next endpoint is tried", "[etcd]") {
  FakeEtcd etcd;
  FakeHttpClient http(etcd.handler());
  fakes::FakeClock clock;
  Gateway gateway(http, gateway_settings(), clock);
  etcd.lose_quorum(kGatewayFirst);
  etcd.lose_quorum(kGatewaySecond);
  util::Json grant(cJSON_CreateObject());
  util::add_number(grant.get(), "TTL", 15);
  auto answer = gateway.call("lease/grant", grant.get());
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.error().kind == ErrorKind::unavailable);
  CHECK_THAT(answer.error().message, Catch::Contains(kGatewaySecond + " answered HTTP 500: context deadline exceeded"));
  CHECK(http.batches.size() == 4);  // every endpoint, twice
}

TEST_CASE("when no endpoint can serve, the error is `unavailable` and names every endpoint", "[etcd]") {
  FakeEtcd etcd;
  FakeHttpClient http(etcd.handler());
  fakes::FakeClock clock;
  Gateway gateway(http, gateway_settings(), clock);
  etcd.make_unreachable(kGatewayFirst);
  etcd.lose_quorum(kGatewaySecond);
  auto answer = gateway.call("kv/range", range_body("/k").get());
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.error().kind == ErrorKind::unavailable);
  CHECK_THAT(answer.error().message, Catch::Contains("no endpoint could serve kv/range, tried twice 1000 ms apart"));
  CHECK_THAT(answer.error().message, Catch::Contains(kGatewayFirst));
  CHECK_THAT(answer.error().message,
             Catch::Contains(kGatewaySecond + " answered HTTP 503: etcdserver: request timed out"));
}

TEST_CASE("when every endpoint failed, all are tried once more after a pause (a leader election)", "[etcd]") {
  FakeEtcd etcd;
  int failed = 0;
  // During an election the members answer that they have no leader, then serve again.
  FakeHttpClient http([&](const HttpRequest& request) -> Result<HttpResponse> {
    if (failed < 2) {
      ++failed;
      return http_answer(503, R"({"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14})");
    }
    return etcd.handle(request);
  });
  fakes::FakeClock clock;
  Gateway gateway(http, gateway_settings(), clock);
  REQUIRE(gateway.call("kv/range", range_body("/k").get()).ok());
  CHECK(http.batches.size() == 3);
  CHECK(clock.slept() == std::chrono::milliseconds(1000));

  GatewaySettings once = gateway_settings();
  once.retry_after = std::chrono::milliseconds(0);
  failed = 0;
  Gateway impatient(http, once, clock);
  CHECK_FALSE(impatient.call("kv/range", range_body("/k").get()).ok());
}

TEST_CASE("a timeout moves on to the next endpoint", "[etcd]") {
  FakeEtcd etcd;
  FakeHttpClient http([&](const HttpRequest& request) -> Result<HttpResponse> {
    if (request.url.rfind(kGatewayFirst, 0) == 0)
      return Error{ErrorKind::timeout, "POST " + request.url + ": timed out"};
    return etcd.handle(request);
  });
  fakes::FakeClock clock;
  Gateway gateway(http, gateway_settings(), clock);
  REQUIRE(gateway.call("kv/range", range_body("/k").get()).ok());
  CHECK(http.batches.size() == 2);
}

TEST_CASE("etcd's refusals are not retried elsewhere; NOT_FOUND carries its code", "[etcd]") {
  FakeEtcd etcd;
  FakeHttpClient http(etcd.handler());
  fakes::FakeClock clock;
  Gateway gateway(http, gateway_settings(), clock);
  util::Json no_key(cJSON_CreateObject());
  auto refused = gateway.call("kv/range", no_key.get());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::failed);
  CHECK_THAT(refused.error().message,
             Catch::Contains("etcd at " + kGatewayFirst + " refused kv/range: etcdserver: key is not provided"));
  CHECK(http.batches.size() == 1);

  util::Json revoke(cJSON_CreateObject());
  util::add_string(revoke.get(), "ID", "12345");
  auto missing = gateway.call("lease/revoke", revoke.get());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().is(ErrorCode::not_found));
}

TEST_CASE("an answer that is not etcd's (a proxy's error page) counts as the endpoint failing", "[etcd]") {
  FakeHttpClient http(
      [](const HttpRequest&) -> Result<HttpResponse> { return http_answer(502, "<html>Bad Gateway</html>"); });
  fakes::FakeClock clock;
  Gateway gateway(http, gateway_settings(), clock);
  auto answer = gateway.call("kv/range", range_body("/k").get());
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.error().kind == ErrorKind::unavailable);
  CHECK_THAT(answer.error().message, Catch::Contains(kGatewayFirst + " answered HTTP 502"));
  CHECK(http.batches.size() == 4);
}

TEST_CASE("a transaction is built in the gateway's JSON form", "[etcd]") {
  Txn transaction;
  transaction.if_created_at("/l", 0).if_modified_at("/s", 12).if_leased_to("/l", "7587").put("/l", "v", "7587");
  transaction.erase("/h/0", "/h/5").otherwise_get("/l");
  CHECK(util::print_json(transaction.json()) ==
        R"({"compare":[{"key":"L2w=","target":"CREATE","result":"EQUAL","create_revision":"0"},)"
        R"({"key":"L3M=","target":"MOD","result":"EQUAL","mod_revision":"12"},)"
        R"({"key":"L2w=","target":"LEASE","result":"EQUAL","lease":"7587"}],)"
        R"("success":[{"requestPut":{"key":"L2w=","value":"dg==","lease":"7587"}},)"
        R"({"requestDeleteRange":{"key":"L2gvMA==","range_end":"L2gvNQ=="}}],)"
        R"("failure":[{"requestRange":{"key":"L2w="}}]})");
}

TEST_CASE("answers: 64-bit integers as strings, fields left out when they hold their default", "[etcd]") {
  auto answer = util::parse_json(
      R"({"header":{"revision":"9"},"responses":[{"response_range":{"header":{"revision":"9"},)"
      R"("kvs":[{"key":"L2w=","create_revision":"4","mod_revision":"7","version":"2","lease":"7587885410000000001"}],)"
      R"("count":"1"}}]})",
      "answer");
  REQUIRE(answer.ok());
  auto result = txn_result(answer->get());
  REQUIRE(result.ok());
  CHECK_FALSE(result->succeeded);
  CHECK(result->revision == 9);
  REQUIRE(result->readings.size() == 1);
  REQUIRE(result->readings[0].size() == 1);
  const KeyValue& kv = result->readings[0][0];
  CHECK(kv.key == "/l");
  CHECK(kv.value.empty());
  CHECK(kv.create_revision == 4);
  CHECK(kv.mod_revision == 7);
  CHECK(kv.lease == "7587885410000000001");  // beyond a double's precision: kept as text

  auto bad = util::parse_json(R"({"kvs":[{"key":"not base64!"}]})", "answer");
  CHECK_FALSE(key_values(bad->get()).ok());
}
