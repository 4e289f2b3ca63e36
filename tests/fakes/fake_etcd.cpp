#include "fakes/fake_etcd.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <stdexcept>

namespace phoenix::fakes {

namespace {

constexpr long kInvalidArgument = 3;
constexpr long kNotFound = 5;
constexpr long kUnavailable = 14;
constexpr std::size_t kMaxTxnOps = 128;  // etcd's --max-txn-ops default
constexpr long long kMinTtl = 2;         // etcd's minimum lease TTL with the default election timeout

// An API error etcd answers with; caught in serve().
struct Refusal : std::runtime_error {
  Refusal(long status_in, long code_in, const std::string& message)
      : std::runtime_error(message), status(status_in), code(code_in) {}
  long status;
  long code;
};

const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string decode_base64(const std::string& text) {
  // Go's encoding/json decodes []byte with StdEncoding: padding required, nothing else allowed.
  if (text.size() % 4 != 0) throw Refusal(400, kInvalidArgument, "illegal base64 data at input byte 0");
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=') {
      if (i + 2 < text.size() || (i + 1 < text.size() && text[i + 1] != '=')) {
        throw Refusal(400, kInvalidArgument, "illegal base64 data at input byte " + std::to_string(i));
      }
      break;
    }
    const auto at = kAlphabet.find(text[i]);
    if (at == std::string::npos) {
      throw Refusal(400, kInvalidArgument, "illegal base64 data at input byte " + std::to_string(i));
    }
    buffer = (buffer << 6U) | static_cast<std::uint32_t>(at);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
    }
  }
  return out;
}

std::string string_field(const cJSON* object, const char* name) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, name);
  if (item == nullptr) return "";
  if (!cJSON_IsString(item)) throw Refusal(400, kInvalidArgument, std::string("bad type for field ") + name);
  return item->valuestring;
}

std::string bytes_field(const cJSON* object, const char* name) { return decode_base64(string_field(object, name)); }

// A 64-bit integer: the gateway takes "42" or 42.
long long int_field(const cJSON* object, const char* name) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, name);
  if (item == nullptr) return 0;
  if (cJSON_IsNumber(item)) return static_cast<long long>(item->valuedouble);
  if (cJSON_IsString(item)) {
    try {
      std::size_t used = 0;
      const long long value = std::stoll(item->valuestring, &used);
      if (used == std::string(item->valuestring).size()) return value;
    } catch (const std::exception&) {
    }
  }
  throw Refusal(400, kInvalidArgument, std::string("bad number for field ") + name);
}

std::string required_key(const cJSON* request) {
  std::string key = bytes_field(request, "key");
  if (key.empty()) throw Refusal(400, kInvalidArgument, "etcdserver: key is not provided");
  return key;
}

HttpResponse json_response(long status, const cJSON* body) { return http_answer(status, util::print_json(body)); }

void add_int(cJSON* object, const char* name, long long value) {
  util::add_string(object, name, std::to_string(value));
}

bool in_range(const std::string& key, const std::string& from, const std::string& end) {
  if (end.empty()) return key == from;
  if (end == std::string(1, '\0')) return key >= from;
  return key >= from && key < end;
}

}  // namespace

std::string fake_base64_encode(const std::string& bytes) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8U) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> static_cast<unsigned>(bits)) & 63U];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << static_cast<unsigned>(6 - bits)) & 63U];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

FakeHttpClient::Handler FakeEtcd::handler() {
  return [this](const HttpRequest& request) { return handle(request); };
}

Result<HttpResponse> FakeEtcd::handle(const HttpRequest& request) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const auto at = request.url.find("/v3/");
  const std::string endpoint = at == std::string::npos ? request.url : request.url.substr(0, at);
  const std::string method = at == std::string::npos ? "" : request.url.substr(at + 4);
  calls_.push_back({endpoint, method, request.body});
  if (unreachable_.count(endpoint) != 0) {
    return Error{ErrorKind::unavailable, request.method + " " + request.url + ": Couldn't connect to server"};
  }
  if (without_quorum_.count(endpoint) != 0) {
    // As etcd 3.4 answers without quorum, after its own request timeout: reads time out in
    // the server, writes and lease grants in the gateway's context.
    if (method == "kv/range") {
      return http_answer(
          503, R"({"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14})");
    }
    return http_answer(500, R"({"error":"context deadline exceeded","message":"context deadline exceeded","code":2})");
  }
  if (request.method != "POST" || at == std::string::npos) return http_answer(404, "Not Found\n");
  auto body = util::parse_json(request.body, "request");
  if (!body || !cJSON_IsObject(body->get())) {
    return http_answer(400, R"({"error":"invalid character","message":"invalid character","code":3})");
  }
  try {
    return serve(method, body->get());
  } catch (const Refusal& refusal) {
    util::Json error(cJSON_CreateObject());
    util::add_string(error.get(), "error", refusal.what());
    util::add_string(error.get(), "message", refusal.what());
    util::add_number(error.get(), "code", static_cast<double>(refusal.code));
    return json_response(refusal.status, error.get());
  }
}

Result<HttpResponse> FakeEtcd::serve(const std::string& method, const cJSON* body) {
  if (method == "kv/range") return range(body);
  if (method == "kv/put") return put_request(body);
  if (method == "kv/deleterange") return delete_range(body);
  if (method == "kv/txn") return txn(body);
  if (method == "lease/grant") return grant(body);
  if (method == "lease/keepalive") return keepalive(body);
  if (method == "lease/revoke") return revoke(body);
  return http_answer(404, "Not Found\n");
}

const FakeEtcd::Entry* FakeEtcd::at(const std::string& key, long long revision) const {
  const auto found = kv_.find(key);
  if (found == kv_.end()) return nullptr;
  const Entry* entry = nullptr;
  for (const auto& [changed_at, version] : found->second) {
    if (changed_at > revision) break;
    entry = version ? &*version : nullptr;
  }
  return entry;
}

const FakeEtcd::Entry* FakeEtcd::current(const std::string& key) const { return at(key, revision_); }

void FakeEtcd::write(const std::string& key, const std::string& value, const std::string& lease) {
  const Entry* old = current(key);
  Entry entry;
  entry.value = value;
  entry.create_revision = old != nullptr ? old->create_revision : revision_;
  entry.mod_revision = revision_;
  entry.version = old != nullptr ? old->version + 1 : 1;
  entry.lease = lease;
  kv_[key].emplace_back(revision_, entry);
}

long long FakeEtcd::erase_range(const std::string& key, const std::string& range_end) {
  long long deleted = 0;
  for (const auto& name : keys_in(key, range_end, revision_)) {
    kv_[name].emplace_back(revision_, std::nullopt);
    ++deleted;
  }
  return deleted;
}

std::vector<std::string> FakeEtcd::keys_in(const std::string& key, const std::string& range_end,
                                           long long revision) const {
  std::vector<std::string> names;
  for (auto it = kv_.lower_bound(key); it != kv_.end() && in_range(it->first, key, range_end); ++it) {
    if (at(it->first, revision) != nullptr) names.push_back(it->first);
  }
  return names;
}

util::Json FakeEtcd::header() const {
  util::Json object(cJSON_CreateObject());
  util::add_string(object.get(), "cluster_id", "14841639068965178418");
  util::add_string(object.get(), "member_id", "10276657743932975437");
  add_int(object.get(), "revision", revision_);
  util::add_string(object.get(), "raft_term", "2");
  return object;
}

util::Json FakeEtcd::range_json(const cJSON* request, long long revision) const {
  const std::string key = required_key(request);
  const std::string range_end = bytes_field(request, "range_end");
  const long long limit = int_field(request, "limit");
  if (revision > revision_) throw Refusal(400, 11, "etcdserver: mvcc: required revision is a future revision");
  const auto names = keys_in(key, range_end, revision);
  util::Json answer(cJSON_CreateObject());
  cJSON_AddItemToObject(answer.get(), "header", header().release());
  if (!names.empty()) {
    cJSON* kvs = cJSON_AddArrayToObject(answer.get(), "kvs");
    std::size_t shown = 0;
    for (const auto& name : names) {
      if (limit > 0 && shown == static_cast<std::size_t>(limit)) break;
      const Entry* entry = at(name, revision);
      cJSON* item = cJSON_CreateObject();
      util::add_string(item, "key", fake_base64_encode(name));
      add_int(item, "create_revision", entry->create_revision);
      add_int(item, "mod_revision", entry->mod_revision);
      add_int(item, "version", entry->version);
      if (!entry->value.empty()) util::add_string(item, "value", fake_base64_encode(entry->value));
      if (!entry->lease.empty()) util::add_string(item, "lease", entry->lease);
      cJSON_AddItemToArray(kvs, item);
      ++shown;
    }
    if (limit > 0 && names.size() > static_cast<std::size_t>(limit)) util::add_bool(answer.get(), "more", true);
    add_int(answer.get(), "count", static_cast<long long>(names.size()));
  }
  return answer;
}

HttpResponse FakeEtcd::range(const cJSON* body) {
  long long revision = int_field(body, "revision");
  if (revision <= 0) revision = revision_;
  const auto answer = range_json(body, revision);
  return json_response(200, answer.get());
}

Result<HttpResponse> FakeEtcd::put_request(const cJSON* body) {
  const std::string key = required_key(body);
  const std::string lease = string_field(body, "lease");
  if (!lease.empty() && lease != "0" && leases_.count(lease) == 0) {
    throw Refusal(404, kNotFound, "etcdserver: requested lease not found");
  }
  ++revision_;
  write(key, bytes_field(body, "value"), lease == "0" ? "" : lease);
  util::Json answer(cJSON_CreateObject());
  cJSON_AddItemToObject(answer.get(), "header", header().release());
  return json_response(200, answer.get());
}

HttpResponse FakeEtcd::delete_range(const cJSON* body) {
  const std::string key = required_key(body);
  const std::string range_end = bytes_field(body, "range_end");
  long long deleted = 0;
  if (!keys_in(key, range_end, revision_).empty()) {
    ++revision_;
    deleted = erase_range(key, range_end);
  }
  util::Json answer(cJSON_CreateObject());
  cJSON_AddItemToObject(answer.get(), "header", header().release());
  if (deleted > 0) add_int(answer.get(), "deleted", deleted);
  return json_response(200, answer.get());
}

namespace {

// The value a comparison reads from a key (absent keys read as 0 or empty).
bool compare_holds(const cJSON* compare, const std::string& target, long long create_revision, long long mod_revision,
                   long long version, const std::string& value, const std::string& lease, bool exists) {
  const std::string result = string_field(compare, "result");
  int order = 0;  // -1 less, 0 equal, 1 greater
  const auto order_of = [](auto have, auto want) { return have < want ? -1 : (have > want ? 1 : 0); };
  if (target == "CREATE") {
    order = order_of(create_revision, int_field(compare, "create_revision"));
  } else if (target == "MOD") {
    order = order_of(mod_revision, int_field(compare, "mod_revision"));
  } else if (target == "VERSION") {
    order = order_of(version, int_field(compare, "version"));
  } else if (target == "VALUE") {
    if (!exists) return false;
    order = order_of(value, bytes_field(compare, "value"));
  } else if (target == "LEASE") {
    const std::string want = string_field(compare, "lease");
    order = order_of(lease.empty() ? std::string("0") : lease, want.empty() ? std::string("0") : want);
  } else {
    throw Refusal(400, kInvalidArgument, "unknown compare target '" + target + "'");
  }
  if (result == "EQUAL" || result.empty()) return order == 0;
  if (result == "NOT_EQUAL") return order != 0;
  if (result == "GREATER") return order > 0;
  if (result == "LESS") return order < 0;
  throw Refusal(400, kInvalidArgument, "unknown compare result '" + result + "'");
}

const cJSON* operation_request(const cJSON* operation, const char* camel, const char* snake) {
  const cJSON* request = cJSON_GetObjectItemCaseSensitive(operation, camel);
  return request != nullptr ? request : cJSON_GetObjectItemCaseSensitive(operation, snake);
}

}  // namespace

Result<HttpResponse> FakeEtcd::txn(const cJSON* body) {
  bool holds = true;
  const cJSON* compare = nullptr;
  cJSON_ArrayForEach(compare, cJSON_GetObjectItemCaseSensitive(body, "compare")) {
    const std::string key = required_key(compare);
    const Entry* entry = current(key);
    const std::string target = string_field(compare, "target");
    holds = holds &&
            compare_holds(compare, target.empty() ? "VERSION" : target, entry != nullptr ? entry->create_revision : 0,
                          entry != nullptr ? entry->mod_revision : 0, entry != nullptr ? entry->version : 0,
                          entry != nullptr ? entry->value : "", entry != nullptr ? entry->lease : "", entry != nullptr);
  }
  const cJSON* operations = cJSON_GetObjectItemCaseSensitive(body, holds ? "success" : "failure");
  // Validate first, as etcd does: nothing is applied when the request is bad.
  std::set<std::string> written;
  std::size_t count = 0;
  const cJSON* operation = nullptr;
  for (const char* branch : {"success", "failure"}) {
    std::set<std::string> keys;
    cJSON_ArrayForEach(operation, cJSON_GetObjectItemCaseSensitive(body, branch)) {
      ++count;
      const cJSON* put = operation_request(operation, "requestPut", "request_put");
      const cJSON* erase = operation_request(operation, "requestDeleteRange", "request_delete_range");
      const cJSON* read = operation_request(operation, "requestRange", "request_range");
      if (put == nullptr && erase == nullptr && read == nullptr) {
        throw Refusal(400, kInvalidArgument, "a txn operation without a request");
      }
      if (put != nullptr) {
        const std::string key = required_key(put);
        if (!keys.insert(key).second)
          throw Refusal(400, kInvalidArgument, "etcdserver: duplicate key given in txn request");
        const std::string lease = string_field(put, "lease");
        if (!lease.empty() && lease != "0" && leases_.count(lease) == 0 &&
            std::string(branch) == (holds ? "success" : "failure")) {
          throw Refusal(404, kNotFound, "etcdserver: requested lease not found");
        }
      }
      if (erase != nullptr) {
        const std::string key = required_key(erase);
        if (!keys.insert(key).second)
          throw Refusal(400, kInvalidArgument, "etcdserver: duplicate key given in txn request");
        (void)bytes_field(erase, "range_end");
      }
      if (read != nullptr) (void)required_key(read);
    }
  }
  if (count > kMaxTxnOps) throw Refusal(400, kInvalidArgument, "etcdserver: too many operations in txn request");

  bool writes = false;
  cJSON_ArrayForEach(operation, operations) {
    if (operation_request(operation, "requestRange", "request_range") == nullptr) writes = true;
  }
  const long long read_revision = revision_;
  if (writes) ++revision_;
  util::Json answer(cJSON_CreateObject());
  cJSON* responses = cJSON_CreateArray();
  cJSON_ArrayForEach(operation, operations) {
    cJSON* response = cJSON_CreateObject();
    if (const cJSON* put = operation_request(operation, "requestPut", "request_put")) {
      const std::string lease = string_field(put, "lease");
      write(required_key(put), bytes_field(put, "value"), lease == "0" ? "" : lease);
      cJSON* inner = cJSON_AddObjectToObject(response, "response_put");
      cJSON* inner_header = cJSON_AddObjectToObject(inner, "header");
      add_int(inner_header, "revision", revision_);
    } else if (const cJSON* erase = operation_request(operation, "requestDeleteRange", "request_delete_range")) {
      const long long deleted = erase_range(required_key(erase), bytes_field(erase, "range_end"));
      cJSON* inner = cJSON_AddObjectToObject(response, "response_delete_range");
      cJSON* inner_header = cJSON_AddObjectToObject(inner, "header");
      add_int(inner_header, "revision", revision_);
      if (deleted > 0) add_int(inner, "deleted", deleted);
    } else {
      const cJSON* read = operation_request(operation, "requestRange", "request_range");
      cJSON_AddItemToObject(response, "response_range", range_json(read, writes ? revision_ : read_revision).release());
    }
    cJSON_AddItemToArray(responses, response);
  }
  cJSON_AddItemToObject(answer.get(), "header", header().release());
  if (holds) util::add_bool(answer.get(), "succeeded", true);
  if (cJSON_GetArraySize(responses) > 0) {
    cJSON_AddItemToObject(answer.get(), "responses", responses);
  } else {
    cJSON_Delete(responses);
  }
  return json_response(200, answer.get());
}

HttpResponse FakeEtcd::grant(const cJSON* body) {
  const long long ttl = std::max(int_field(body, "TTL"), kMinTtl);
  const std::string id = std::to_string(next_lease_++);
  leases_[id] = ttl;
  util::Json answer(cJSON_CreateObject());
  cJSON_AddItemToObject(answer.get(), "header", header().release());
  util::add_string(answer.get(), "ID", id);
  add_int(answer.get(), "TTL", ttl);
  return json_response(200, answer.get());
}

HttpResponse FakeEtcd::keepalive(const cJSON* body) {
  const std::string id = string_field(body, "ID");
  util::Json answer(cJSON_CreateObject());
  cJSON* result = cJSON_AddObjectToObject(answer.get(), "result");
  cJSON_AddItemToObject(result, "header", header().release());
  util::add_string(result, "ID", id);
  // A lease etcd does not know is answered without a TTL, not with an error.
  if (const auto found = leases_.find(id); found != leases_.end()) add_int(result, "TTL", found->second);
  return json_response(200, answer.get());
}

HttpResponse FakeEtcd::revoke(const cJSON* body) {
  const std::string id = string_field(body, "ID");
  if (leases_.erase(id) == 0) throw Refusal(404, kNotFound, "etcdserver: requested lease not found");
  ++revision_;
  for (const auto& [name, versions] : kv_) {
    const Entry* entry = current(name);
    if (entry != nullptr && entry->lease == id) kv_[name].emplace_back(revision_, std::nullopt);
  }
  util::Json answer(cJSON_CreateObject());
  cJSON_AddItemToObject(answer.get(), "header", header().release());
  return json_response(200, answer.get());
}

void FakeEtcd::make_unreachable(const std::string& endpoint) {
  const std::lock_guard<std::mutex> lock(mutex_);
  unreachable_.insert(endpoint);
}

void FakeEtcd::lose_quorum(const std::string& endpoint) {
  const std::lock_guard<std::mutex> lock(mutex_);
  without_quorum_.insert(endpoint);
}

void FakeEtcd::heal(const std::string& endpoint) {
  const std::lock_guard<std::mutex> lock(mutex_);
  unreachable_.erase(endpoint);
  without_quorum_.erase(endpoint);
}

void FakeEtcd::expire_lease(const std::string& id) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (leases_.erase(id) == 0) return;
  ++revision_;
  for (const auto& [name, versions] : kv_) {
    const Entry* entry = current(name);
    if (entry != nullptr && entry->lease == id) kv_[name].emplace_back(revision_, std::nullopt);
  }
}

void FakeEtcd::put(const std::string& key, const std::string& value, const std::string& lease) {
  const std::lock_guard<std::mutex> lock(mutex_);
  ++revision_;
  write(key, value, lease);
}

std::optional<std::string> FakeEtcd::value(const std::string& key) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  const Entry* entry = current(key);
  if (entry == nullptr) return std::nullopt;
  return entry->value;
}

std::string FakeEtcd::lease_of(const std::string& key) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  const Entry* entry = current(key);
  return entry == nullptr ? "" : entry->lease;
}

std::vector<std::string> FakeEtcd::keys(const std::string& prefix) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> names;
  for (const auto& [name, versions] : kv_) {
    if (name.rfind(prefix, 0) == 0 && current(name) != nullptr) names.push_back(name);
  }
  return names;
}

std::set<std::string> FakeEtcd::leases() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::set<std::string> ids;
  for (const auto& [id, ttl] : leases_) ids.insert(id);
  return ids;
}

long long FakeEtcd::revision() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return revision_;
}

std::vector<FakeEtcd::Call> FakeEtcd::calls() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return calls_;
}

std::vector<FakeEtcd::Call> FakeEtcd::calls_to(const std::string& method) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Call> matching;
  for (const auto& call : calls_) {
    if (call.method == method) matching.push_back(call);
  }
  return matching;
}

}  // namespace phoenix::fakes
