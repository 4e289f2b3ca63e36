#pragma once
// An in-memory etcd behind its v3 JSON gateway, written from etcd's API reference and checked
// against etcd 3.4: POST /v3/kv/{range,put,deleterange,txn} and /v3/lease/{grant,keepalive,
// revoke}, base64 keys and values, 64-bit integers as strings, fields that hold their default
// left out, errors as {"error", "message", "code"} with gRPC codes. It refuses what etcd
// refuses (bad base64, no key, a lease that does not exist, one key twice in a transaction,
// an unknown path). Reads at an older revision see that revision. Time does not pass: a test
// expires a lease with expire_lease(), as etcd does one TTL after the last keep-alive.
//
// Serve it through FakeHttpClient (handler()); it is thread-safe, so a lease keeper's own
// client may share it. Faults: an endpoint that cannot be reached, an endpoint without quorum.

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fakes/fake_http_client.hpp"
#include "shared/util/json.hpp"

namespace phoenix::fakes {

class FakeEtcd {
 public:
  struct Call {
    std::string endpoint;  // "http://127.0.0.1:2379"
    std::string method;    // "kv/txn"
    std::string body;      // the JSON as sent
  };

  FakeHttpClient::Handler handler();
  Result<HttpResponse> handle(const HttpRequest& request);

  // Faults, per endpoint ("http://host:port").
  void make_unreachable(const std::string& endpoint);  // connection refused
  void lose_quorum(const std::string& endpoint);       // reads: 503 UNAVAILABLE; else 500 UNKNOWN
  void heal(const std::string& endpoint);

  // What etcd does when a lease's TTL runs out: the lease and every key bound to it go.
  void expire_lease(const std::string& id);
  // A write from outside (another agent, an operator with etcdctl).
  void put(const std::string& key, const std::string& value, const std::string& lease = "");

  std::optional<std::string> value(const std::string& key) const;
  std::string lease_of(const std::string& key) const;  // "" when none or no key
  std::vector<std::string> keys(const std::string& prefix) const;
  std::set<std::string> leases() const;
  long long revision() const;
  std::vector<Call> calls() const;
  std::vector<Call> calls_to(const std::string& method) const;

 private:
  struct Entry {
    std::string value;
    long long create_revision = 0;
    long long mod_revision = 0;
    long long version = 0;
    std::string lease;
  };
  // Every version of a key: (revision, entry or deleted).
  using Versions = std::vector<std::pair<long long, std::optional<Entry>>>;

  Result<HttpResponse> serve(const std::string& method, const cJSON* body);
  const Entry* current(const std::string& key) const;
  const Entry* at(const std::string& key, long long revision) const;
  void write(const std::string& key, const std::string& value, const std::string& lease);
  long long erase_range(const std::string& key, const std::string& range_end);
  std::vector<std::string> keys_in(const std::string& key, const std::string& range_end, long long revision) const;

  HttpResponse range(const cJSON* body);
  Result<HttpResponse> put_request(const cJSON* body);
  HttpResponse delete_range(const cJSON* body);
  Result<HttpResponse> txn(const cJSON* body);
  HttpResponse grant(const cJSON* body);
  HttpResponse keepalive(const cJSON* body);
  HttpResponse revoke(const cJSON* body);
  util::Json header() const;
  util::Json range_json(const cJSON* request, long long revision) const;

  mutable std::mutex mutex_;
  std::map<std::string, Versions> kv_;
  std::map<std::string, long long> leases_;  // id -> TTL
  long long revision_ = 1;
  long long next_lease_ = 7587885410000000001LL;
  std::set<std::string> unreachable_;
  std::set<std::string> without_quorum_;
  std::vector<Call> calls_;
};

// Standard base64, written apart from the code under test.
std::string fake_base64_encode(const std::string& bytes);

}  // namespace phoenix::fakes
