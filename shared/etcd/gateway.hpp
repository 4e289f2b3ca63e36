#pragma once
// etcd's v3 API through its JSON gateway: every call is POST /v3/<service>/<method> with a JSON
// body; keys and values travel base64-encoded and 64-bit integers (revisions, lease IDs) come
// back as strings. Errors come back as {"error", "message", "code"} with gRPC codes.
//
// The Gateway tries the endpoints in order, starting from the one that answered last, and
// moves on when an endpoint cannot be reached, does not answer in time, or answers that it
// cannot serve (no leader, no quorum). When every endpoint failed it waits `retry_after` (a
// leader election takes about a second) and tries them all once more. Every request is bounded
// by the timeout, so one call takes at most 2 x endpoints x timeout + retry_after.

#include <cjson/cJSON.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/http_client.hpp"
#include "shared/util/clock.hpp"
#include "shared/util/json.hpp"
#include "shared/util/result.hpp"

namespace phoenix::etcd {

// Standard base64 with padding (RFC 4648), as the gateway expects; decoding refuses anything
// else.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// The range_end that selects every key starting with `prefix`: the prefix with its last byte
// incremented (etcd's own rule).
std::string prefix_end(std::string_view prefix);

// A 64-bit integer field the gateway writes as a string ("42"), or as a number; 0 when absent
// (the gateway leaves out fields that hold their default).
long long int_field(const cJSON* object, const char* key);

struct KeyValue {
  std::string key;
  std::string value;
  long long create_revision = 0;
  long long mod_revision = 0;
  std::string lease;  // the lease ID the key is bound to, "" for none
};

// The "kvs" of a range response (possibly none).
Result<std::vector<KeyValue>> key_values(const cJSON* range_response);

// A transaction: every comparison must hold for the success operations to run, else the
// failure operations run. Built in the gateway's JSON form.
class Txn {
 public:
  Txn();
  // The key was created at `revision` (0: the key does not exist).
  Txn& if_created_at(const std::string& key, long long revision);
  // The key was last modified at `revision` (0: the key does not exist).
  Txn& if_modified_at(const std::string& key, long long revision);
  // The key is bound to `lease` (false when the key does not exist).
  Txn& if_leased_to(const std::string& key, const std::string& lease);
  Txn& put(const std::string& key, const std::string& value, const std::string& lease = "");
  // Deletes `key`, or every key in [key, range_end) when range_end is given.
  Txn& erase(const std::string& key, const std::string& range_end = "");
  // Reads `key` when the comparisons fail (to learn what they found).
  Txn& otherwise_get(const std::string& key);
  const cJSON* json() const { return body_.get(); }

 private:
  cJSON* compare(const std::string& key, const char* target);
  util::Json body_;
};

struct TxnResult {
  bool succeeded = false;
  long long revision = 0;                       // the store's revision after the transaction
  std::vector<std::vector<KeyValue>> readings;  // one per range operation that ran, in order
};
Result<TxnResult> txn_result(const cJSON* response);

struct GatewaySettings {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", without a trailing '/'
  std::chrono::milliseconds timeout{2000};
  std::chrono::milliseconds retry_after{1000};  // 0: no second round
};

class Gateway {
 public:
  Gateway(HttpClient& http, GatewaySettings settings, util::Clock& clock);

  // POSTs `body` to /v3/<method> ("kv/range") and returns the parsed answer. Errors:
  // `unavailable` naming every endpoint when none could serve the call; `failed` with
  // ErrorCode::not_found for etcd's NOT_FOUND (a lease that is gone); `failed` when etcd
  // refused the request itself (another endpoint would refuse it too).
  Result<util::Json> call(const std::string& method, const cJSON* body);

  // "http://a:2379, http://b:2379"
  std::string endpoints() const;
  const GatewaySettings& settings() const { return settings_; }

 private:
  // One pass over the endpoints: an answer, etcd's refusal, or nothing (every endpoint failed,
  // each failure added to `failures`).
  std::optional<Result<util::Json>> round(const std::string& method, const std::string& body,
                                          std::vector<std::string>& failures);

  HttpClient& http_;
  GatewaySettings settings_;
  util::Clock& clock_;
  std::size_t preferred_ = 0;  // the endpoint that answered last
};

}  // namespace phoenix::etcd
