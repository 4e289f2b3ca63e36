#include "shared/etcd/gateway.hpp"

#include <array>

#include "shared/util/strings.hpp"

namespace phoenix::etcd {

namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The value of each base64 character, -1 for the others: a history read decodes megabytes.
constexpr std::array<int, 256> kSextets = [] {
  std::array<int, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  return table;
}();

int sextet(char c) { return kSextets[static_cast<unsigned char>(c)]; }

// gRPC codes an endpoint answers with when it cannot serve the call now: another endpoint
// may. Without quorum etcd 3.4 answers reads with UNAVAILABLE ("etcdserver: request timed
// out") and writes and lease grants with UNKNOWN ("context deadline exceeded": the gateway's
// code for a context error); a corrupt member answers DATA_LOSS. etcd gives every error of
// the request itself a proper code, so UNKNOWN is never one of those.
bool endpoint_cannot_serve(long code) {
  constexpr long kCanceled = 1;
  constexpr long kUnknown = 2;
  constexpr long kDeadlineExceeded = 4;
  constexpr long kUnavailable = 14;
  constexpr long kDataLoss = 15;
  return code == kCanceled || code == kUnknown || code == kDeadlineExceeded || code == kUnavailable ||
         code == kDataLoss;
}

constexpr long kNotFound = 5;

const cJSON* response_item(const cJSON* response, const char* snake, const char* camel) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(response, snake);
  return item != nullptr ? item : cJSON_GetObjectItemCaseSensitive(response, camel);
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16U) | (static_cast<unsigned char>(bytes[i + 1]) << 8U) |
                   static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += kAlphabet[(n >> 6U) & 63U];
    out += kAlphabet[n & 63U];
  }
  if (i + 1 == bytes.size()) {
    const auto n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i]) << 16U);
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16U) | (static_cast<unsigned char>(bytes[i + 1]) << 8U);
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += kAlphabet[(n >> 6U) & 63U];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  const std::size_t padding = text.empty() ? 0 : (text.back() == '=' ? (text[text.size() - 2] == '=' ? 2 : 1) : 0);
  std::string out(text.size() / 4 * 3 - padding, '\0');
  std::size_t written = 0;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t data = last ? 4 - padding : 4;  // characters that carry bits
    unsigned n = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const int value = j < data ? sextet(text[i + j]) : 0;
      if (value < 0) return std::nullopt;  // '=' inside the text is not in the alphabet either
      n = (n << 6U) | static_cast<unsigned>(value);
    }
    out[written++] = static_cast<char>((n >> 16U) & 0xFFU);
    if (data > 2) out[written++] = static_cast<char>((n >> 8U) & 0xFFU);
    if (data > 3) out[written++] = static_cast<char>(n & 0xFFU);
  }
  return out;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xFF) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key (etcd's "\0" range end)
}

long long int_field(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  if (cJSON_IsString(item)) return util::parse_int(item->valuestring).value_or(0);
  if (cJSON_IsNumber(item)) return static_cast<long long>(item->valuedouble);
  return 0;
}

Result<std::vector<KeyValue>> key_values(const cJSON* range_response) {
  std::vector<KeyValue> out;
  const cJSON* kvs = cJSON_GetObjectItemCaseSensitive(range_response, "kvs");
  if (kvs == nullptr) return out;
  if (!cJSON_IsArray(kvs)) return Error{ErrorKind::failed, "etcd answered a range whose kvs is not an array"};
  const cJSON* item = nullptr;
  cJSON_ArrayForEach(item, kvs) {
    KeyValue kv;
    auto key = base64_decode(util::json_string(item, "key").value_or(""));
    auto value = base64_decode(util::json_string(item, "value").value_or(""));
    if (!key || !value) return Error{ErrorKind::failed, "etcd answered a key or value that is not base64"};
    kv.key = std::move(*key);
    kv.value = std::move(*value);
    kv.create_revision = int_field(item, "create_revision");
    kv.mod_revision = int_field(item, "mod_revision");
    kv.lease = util::json_string(item, "lease").value_or("");
    if (kv.lease == "0") kv.lease.clear();
    out.push_back(std::move(kv));
  }
  return out;
}

Txn::Txn() : body_(cJSON_CreateObject()) {
  for (const char* part : {"compare", "success", "failure"}) cJSON_AddArrayToObject(body_.get(), part);
}

cJSON* Txn::compare(const std::string& key, const char* target) {
  cJSON* item = cJSON_CreateObject();
  util::add_string(item, "key", base64_encode(key));
  util::add_string(item, "target", target);
  util::add_string(item, "result", "EQUAL");
  cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(body_.get(), "compare"), item);
  return item;
}

Txn& Txn::if_created_at(const std::string& key, long long revision) {
  util::add_string(compare(key, "CREATE"), "create_revision", std::to_string(revision));
  return *this;
}

Txn& Txn::if_modified_at(const std::string& key, long long revision) {
  util::add_string(compare(key, "MOD"), "mod_revision", std::to_string(revision));
  return *this;
}

Txn& Txn::if_leased_to(const std::string& key, const std::string& lease) {
  util::add_string(compare(key, "LEASE"), "lease", lease);
  return *this;
}

Txn& Txn::put(const std::string& key, const std::string& value, const std::string& lease) {
  cJSON* request = cJSON_CreateObject();
  util::add_string(request, "key", base64_encode(key));
  util::add_string(request, "value", base64_encode(value));
  if (!lease.empty()) util::add_string(request, "lease", lease);
  cJSON* operation = cJSON_CreateObject();
  cJSON_AddItemToObject(operation, "requestPut", request);
  cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(body_.get(), "success"), operation);
  return *this;
}

Txn& Txn::erase(const std::string& key, const std::string& range_end) {
  cJSON* request = cJSON_CreateObject();
  util::add_string(request, "key", base64_encode(key));
  if (!range_end.empty()) util::add_string(request, "range_end", base64_encode(range_end));
  cJSON* operation = cJSON_CreateObject();
  cJSON_AddItemToObject(operation, "requestDeleteRange", request);
  cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(body_.get(), "success"), operation);
  return *this;
}

Txn& Txn::otherwise_get(const std::string& key) {
  cJSON* request = cJSON_CreateObject();
  util::add_string(request, "key", base64_encode(key));
  cJSON* operation = cJSON_CreateObject();
  cJSON_AddItemToObject(operation, "requestRange", request);
  cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(body_.get(), "failure"), operation);
  return *this;
}

Result<TxnResult> txn_result(const cJSON* response) {
  TxnResult result;
  result.succeeded = util::json_bool(response, "succeeded").value_or(false);
  result.revision = int_field(cJSON_GetObjectItemCaseSensitive(response, "header"), "revision");
  const cJSON* responses = cJSON_GetObjectItemCaseSensitive(response, "responses");
  const cJSON* item = nullptr;
  cJSON_ArrayForEach(item, responses) {
    const cJSON* range = response_item(item, "response_range", "responseRange");
    if (range == nullptr) continue;
    PHX_TRY_ASSIGN(auto kvs, key_values(range));
    result.readings.push_back(std::move(kvs));
  }
  return result;
}

Gateway::Gateway(HttpClient& http, GatewaySettings settings, util::Clock& clock)
    : http_(http), settings_(std::move(settings)), clock_(clock) {}

std::string Gateway::endpoints() const { return util::join(settings_.endpoints, ", "); }

std::optional<Result<util::Json>> Gateway::round(const std::string& method, const std::string& body,
                                                 std::vector<std::string>& failures) {
  const std::size_t count = settings_.endpoints.size();
  for (std::size_t attempt = 0; attempt < count; ++attempt) {
    const std::size_t index = (preferred_ + attempt) % count;
    const std::string& endpoint = settings_.endpoints[index];
    HttpRequest request;
    request.method = "POST";
    request.url = endpoint + "/v3/" + method;
    request.headers = {{"Content-Type", "application/json"}};
    request.body = body;
    request.timeout = settings_.timeout;
    auto answers = http_.perform({request});
    auto& answer = answers.front();
    if (!answer) {
      failures.push_back(answer.error().message);
      continue;
    }
    auto document = util::parse_json(answer->body, endpoint);
    if (answer->status == 200 && document && cJSON_IsObject(document->get())) {
      preferred_ = index;
      return Result<util::Json>(std::move(*document));
    }
    const long code = document ? static_cast<long>(util::json_number(document->get(), "code").value_or(-1)) : -1;
    const std::string message =
        document ? util::json_string(document->get(), "message").value_or("") : util::printable(answer->body, 80);
    if (code < 0 || endpoint_cannot_serve(code)) {
      failures.push_back(endpoint + " answered HTTP " + std::to_string(answer->status) +
                         (message.empty() ? std::string() : ": " + message));
      continue;
    }
    preferred_ = index;
    return Result<util::Json>(Error{ErrorKind::failed, "etcd at " + endpoint + " refused " + method + ": " + message,
                                    code == kNotFound ? ErrorCode::not_found : ErrorCode::none});
  }
  return std::nullopt;
}

Result<util::Json> Gateway::call(const std::string& method, const cJSON* body) {
  const std::string text = util::print_json(body);
  std::vector<std::string> failures;
  if (auto answer = round(method, text, failures)) return std::move(*answer);
  if (settings_.retry_after.count() > 0) {
    // Every endpoint failed: a leader election (about a second) looks like this. Once more.
    clock_.sleep_for(settings_.retry_after);
    failures.clear();
    if (auto answer = round(method, text, failures)) return std::move(*answer);
  }
  return Error{ErrorKind::unavailable,
               "etcd is unavailable: no endpoint could serve " + method +
                   (settings_.retry_after.count() > 0
                        ? ", tried twice " + std::to_string(settings_.retry_after.count()) + " ms apart"
                        : std::string()) +
                   " (" + util::join(failures, "; ") + ")"};
}

}  // namespace phoenix::etcd
