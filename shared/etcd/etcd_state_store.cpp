#include "shared/etcd/etcd_state_store.hpp"

#include <cstdio>

#include "shared/core/records.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::etcd {

namespace {

constexpr int kHistoryPage = 50;    // history chunks (up to 5,000 events) per range request
constexpr int kAppendAttempts = 8;  // appends racing with other agents' appends
constexpr const char* kLock = "lock";
constexpr const char* kIntent = "intent";
constexpr const char* kFreeze = "freeze";
constexpr const char* kWatch = "watch";
constexpr const char* kHistorySequence = "history-seq";
constexpr const char* kLastSwitch = "last-switch";

Error lock_lost(const std::string& why) {
  return Error{ErrorKind::refused, "the deploy lock is no longer ours: " + why + "; stopping before the next step",
               ErrorCode::lock_held};
}

// A record kept as JSON in a key: nothing when the key is absent, an error naming the key when
// its value does not parse.
template <class T, class Parse>
Result<std::optional<T>> parse_record(const std::optional<KeyValue>& kv, Parse parse) {
  if (!kv) return std::optional<T>{};
  auto document = util::parse_json(kv->value, "etcd key " + kv->key);
  if (!document) return document.error();
  auto record = parse(document->get());
  if (!record) return record.error().context("etcd key " + kv->key);
  return std::optional<T>(std::move(*record));
}

// The freeze record in `kv`; a value that is not one answers ErrorCode::unreadable_record.
Result<std::optional<Freeze>> parse_freeze(const std::optional<KeyValue>& kv) {
  auto read = parse_record<Freeze>(kv, records::freeze_from_json);
  if (!read) return unreadable_freeze(read.error());
  return read;
}

// "pid 12 on agent-2 (job ...) since ..." of the lock record in `kv`, or what is wrong with it.
std::string describe_holder(const KeyValue& kv) {
  auto holder = parse_record<LockHolder>(kv, records::lock_holder_from_json);
  if (!holder || !holder->has_value()) return "an unreadable lock record (etcd key " + kv.key + ")";
  return (*holder)->describe();
}

}  // namespace

EtcdStateStore::EtcdStateStore(EtcdSettings settings, HttpClient& http, HttpClientFactory keeper_http,
                               std::string this_host, util::Clock& clock)
    : settings_(std::move(settings)),
      gateway_(http, GatewaySettings{.endpoints = settings_.endpoints, .timeout = settings_.timeout}, clock),
      keeper_http_(std::move(keeper_http)),
      this_host_(std::move(this_host)),
      clock_(clock) {
  settings_.history_keep = std::max<std::size_t>(settings_.history_keep, 1);
}

EtcdStateStore::~EtcdStateStore() {
  // A command that ends without releasing its lock (it should not) gives it back here rather
  // than leaving the next one to wait for the TTL.
  if (keeper_) keeper_->stop();
  if (!lease_.empty()) revoke_lease(lease_);
}

std::string EtcdStateStore::describe() const {
  return "etcd " + gateway_.endpoints() + " (keys under " + key("") + ")";
}

std::string EtcdStateStore::key(const std::string& name) const {
  return settings_.prefix + "/" + settings_.service + "/" + name;
}

std::string EtcdStateStore::history_chunk_name(long long sequence) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%020lld", (sequence - 1) / kEventsPerChunk);
  return std::string("history/") + digits;
}

Result<std::optional<KeyValue>> EtcdStateStore::get(const std::string& name) {
  util::Json body(cJSON_CreateObject());
  util::add_string(body.get(), "key", base64_encode(key(name)));
  PHX_TRY_ASSIGN(const auto answer, gateway_.call("kv/range", body.get()));
  PHX_TRY_ASSIGN(auto kvs, key_values(answer.get()));
  if (kvs.empty()) return std::optional<KeyValue>{};
  return std::optional<KeyValue>(std::move(kvs.front()));
}

Result<TxnResult> EtcdStateStore::txn(const Txn& transaction) {
  PHX_TRY_ASSIGN(const auto answer, gateway_.call("kv/txn", transaction.json()));
  return txn_result(answer.get());
}

Result<std::string> EtcdStateStore::grant_lease() {
  util::Json body(cJSON_CreateObject());
  util::add_number(body.get(), "TTL", static_cast<double>(settings_.lease_ttl.count()));
  PHX_TRY_ASSIGN(const auto answer, gateway_.call("lease/grant", body.get()));
  auto id = util::json_string(answer.get(), "ID");
  if (!id || id->empty() || *id == "0") return Error{ErrorKind::failed, "etcd answered lease/grant without a lease ID"};
  return *id;
}

void EtcdStateStore::revoke_lease(const std::string& lease) {
  util::Json body(cJSON_CreateObject());
  util::add_string(body.get(), "ID", lease);
  // Best effort: a lease that is not revoked expires by itself one TTL later.
  (void)gateway_.call("lease/revoke", body.get());
}

void EtcdStateStore::start_keeper() {
  const auto every = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.lease_ttl) / 3;
  keeper_ = std::make_unique<LeaseKeeper>(
      keeper_http_(), GatewaySettings{.endpoints = settings_.endpoints, .timeout = std::min(settings_.timeout, every)},
      lease_, settings_.lease_ttl, every);
}

void EtcdStateStore::forget_lease() {
  if (keeper_) keeper_->stop();
  keeper_.reset();
  lease_.clear();
  holder_.reset();
}

Result<LockOutcome> EtcdStateStore::acquire_lock(const LockRequest& request) {
  if (!lease_.empty()) {
    return Error{ErrorKind::refused, "this process already holds the deploy lock of service " + settings_.service,
                 ErrorCode::lock_held};
  }
  const std::string record = util::print_json(records::to_json(request.holder).get());
  PHX_TRY_ASSIGN(const std::string lease, grant_lease());
  auto created = txn(Txn().if_created_at(key(kLock), 0).put(key(kLock), record, lease).otherwise_get(key(kLock)));
  if (!created) {
    revoke_lease(lease);
    return created.error().context("taking the deploy lock");
  }
  const bool ours = created->succeeded || (!created->readings.empty() && !created->readings[0].empty() &&
                                           created->readings[0][0].lease == lease);  // a retried request
  if (ours) {
    lease_ = lease;
    holder_ = request.holder;
    start_keeper();
    return LockOutcome{};
  }
  if (created->readings.empty() || created->readings[0].empty()) {
    revoke_lease(lease);  // released between the comparison and the reading: cannot happen in one txn
    return Error{ErrorKind::failed, "etcd answered the lock transaction without the current holder"};
  }
  const KeyValue& current = created->readings[0][0];
  auto parsed = parse_record<LockHolder>(current, records::lock_holder_from_json);
  std::optional<LockHolder> holder;  // nothing: the record cannot be read
  std::optional<std::string> stale;
  if (!parsed) {
    stale = "its record cannot be read (" + parsed.error().message + ")";  // the error names the key
  } else if (!parsed->has_value()) {
    stale = "the lock record in etcd key " + current.key + " cannot be read";
  } else {
    holder = **parsed;
    stale = staleness(*holder, request.stale_after);
  }
  if (auto allowed = check_lock_takeover(holder, stale, request.break_lock); !allowed.ok()) {
    revoke_lease(lease);
    return allowed.error();
  }
  return take_over(current, holder, request.holder, lease);
}

Result<LockOutcome> EtcdStateStore::take_over(const KeyValue& current, const std::optional<LockHolder>& stale_holder,
                                              const LockHolder& holder, const std::string& lease) {
  // Only the lock record that was judged stale is replaced; the old holder's keep_lock then
  // finds the key bound to another lease and stops.
  auto replaced = txn(Txn()
                          .if_created_at(key(kLock), current.create_revision)
                          .if_modified_at(key(kLock), current.mod_revision)
                          .put(key(kLock), util::print_json(records::to_json(holder).get()), lease));
  if (!replaced || !replaced->succeeded) {
    revoke_lease(lease);
    if (!replaced) return replaced.error().context("taking over the deploy lock");
    return Error{ErrorKind::refused,
                 "the deploy lock changed while it was being taken over; re-run to see who holds it",
                 ErrorCode::lock_held};
  }
  lease_ = lease;
  holder_ = holder;
  start_keeper();
  return LockOutcome{.taken_over = LockTakeover{.holder = stale_holder}};
}

Status EtcdStateStore::release_lock(const LockHolder& holder) {
  if (lease_.empty() || !holder_ || holder_->host != holder.host || holder_->pid != holder.pid) return {};
  if (keeper_) keeper_->stop();
  util::Json body(cJSON_CreateObject());
  util::add_string(body.get(), "ID", lease_);
  auto revoked = gateway_.call("lease/revoke", body.get());
  forget_lease();
  if (!revoked && !revoked.error().is(ErrorCode::not_found)) {  // not found: it had expired
    return revoked.error().context("it frees itself within " + std::to_string(settings_.lease_ttl.count()) + " s");
  }
  return {};
}

Result<std::optional<LockHolder>> EtcdStateStore::read_lock() {
  PHX_TRY_ASSIGN(const auto current, get(kLock));
  return parse_record<LockHolder>(current, records::lock_holder_from_json);
}

std::optional<std::string> EtcdStateStore::staleness(const LockHolder& holder, std::chrono::seconds stale_after) {
  // A living holder elsewhere keeps its lease; whether it still runs is only known on its host.
  const bool running =
      holder.host != this_host_ || util::is_running(util::ProcessIdentity{static_cast<pid_t>(holder.pid), 0});
  return lock_staleness(holder, this_host_, clock_.wall_now(), stale_after, running);
}

Status EtcdStateStore::keep_lock(const LockHolder& holder) {
  if (lease_.empty() || !holder_ || holder_->host != holder.host || holder_->pid != holder.pid) {
    return lock_lost("this process does not hold it");
  }
  if (keeper_ && keeper_->lost()) return lock_lost("its lease was lost: " + keeper_->why_lost());
  std::string detail;
  switch (renew_lease(gateway_, lease_, detail)) {
    case Renewal::alive:
      break;
    case Renewal::gone:
      return lock_lost("its lease was lost: " + detail);
    case Renewal::unreachable:
      return Error{ErrorKind::unavailable, "cannot confirm the deploy lock: " + detail};
  }
  PHX_TRY_ASSIGN(const auto current, get(kLock));
  if (!current) return lock_lost("it was removed");
  if (current->lease != lease_) return lock_lost("it was taken over by " + describe_holder(*current));
  return {};
}

void EtcdStateStore::require_lock_for_intent(Txn& transaction) const {
  if (!lease_.empty()) {
    transaction.if_leased_to(key(kLock), lease_);
  } else {
    transaction.if_created_at(key(kLock), 0);
  }
}

Error EtcdStateStore::intent_refused() {
  auto current = get(kLock);
  const std::string holder = !current                ? "it cannot be read (" + current.error().message + ")"
                             : !current->has_value() ? std::string("nobody holds it")
                                                     : "held by " + describe_holder(**current);
  if (!lease_.empty()) return lock_lost(holder + "; the intent record was left as it is");
  return Error{ErrorKind::refused, "the intent record belongs to the deploy lock's holder: " + holder,
               ErrorCode::lock_held};
}

Status EtcdStateStore::write_intent_record(const std::optional<Intent>& intent) {
  Txn transaction;
  require_lock_for_intent(transaction);
  if (intent) {
    transaction.put(key(kIntent), util::print_json(records::to_json(*intent).get()));
  } else {
    transaction.erase(key(kIntent));
  }
  PHX_TRY_ASSIGN(const auto result, txn(transaction));
  if (!result.succeeded) return intent_refused();
  return {};
}

Status EtcdStateStore::write_intent(const Intent& intent) { return write_intent_record(intent); }

Result<std::optional<Intent>> EtcdStateStore::read_intent() {
  PHX_TRY_ASSIGN(const auto current, get(kIntent));
  return parse_record<Intent>(current, records::intent_from_json);
}

Status EtcdStateStore::clear_intent() { return write_intent_record(std::nullopt); }

Status EtcdStateStore::write_watch(const WatchRecord& record) {
  util::Json body(cJSON_CreateObject());
  util::add_string(body.get(), "key", base64_encode(key(kWatch)));
  util::add_string(body.get(), "value", base64_encode(util::print_json(records::to_json(record).get())));
  PHX_TRY(gateway_.call("kv/put", body.get()));
  return {};
}

Result<std::optional<WatchRecord>> EtcdStateStore::read_watch() {
  PHX_TRY_ASSIGN(const auto current, get(kWatch));
  return parse_record<WatchRecord>(current, records::watch_record_from_json);
}

Status EtcdStateStore::clear_watch(const LockHolder& holder) {
  PHX_TRY_ASSIGN(const auto current, get(kWatch));
  if (!current) return {};
  PHX_TRY_ASSIGN(const auto record, parse_record<WatchRecord>(current, records::watch_record_from_json));
  if (!record || record->by.host != holder.host || record->by.pid != holder.pid) return {};  // a later watch's
  // Removed only as it was read: a watch written meanwhile stays.
  PHX_TRY(txn(Txn().if_modified_at(key(kWatch), current->mod_revision).erase(key(kWatch))));
  return {};
}

Result<std::optional<Freeze>> EtcdStateStore::read_freeze() {
  PHX_TRY_ASSIGN(const auto current, get(kFreeze));
  return parse_freeze(current);
}

Status EtcdStateStore::replace_freeze(const std::optional<Freeze>& expected, const std::optional<Freeze>& next) {
  PHX_TRY_ASSIGN(const auto stored, get(kFreeze));
  PHX_TRY_ASSIGN(const auto current, parse_freeze(stored));
  if (current != expected) return freeze_changed_concurrently("etcd key " + key(kFreeze));
  // Written only as it was compared: a key changed (or created) since is left as it is.
  Txn transaction;
  transaction.if_modified_at(key(kFreeze), stored ? stored->mod_revision : 0);
  if (next) {
    transaction.put(key(kFreeze), util::print_json(records::to_json(*next).get()));
  } else {
    transaction.erase(key(kFreeze));
  }
  PHX_TRY_ASSIGN(const auto result, txn(transaction));
  if (!result.succeeded) return freeze_changed_concurrently("etcd key " + key(kFreeze));
  return {};
}

Status EtcdStateStore::clear_unreadable_freeze() {
  PHX_TRY_ASSIGN(const auto stored, get(kFreeze));
  const auto current = parse_freeze(stored);
  if (current) return freeze_changed_concurrently("etcd key " + key(kFreeze));
  // Removed only as it was read: a value written since is left as it is.
  PHX_TRY_ASSIGN(const auto result, txn(Txn().if_modified_at(key(kFreeze), stored->mod_revision).erase(key(kFreeze))));
  if (!result.succeeded) return freeze_changed_concurrently("etcd key " + key(kFreeze));
  return {};
}

Result<bool> EtcdStateStore::try_append(const std::string& line, bool newest_switch) {
  PHX_TRY_ASSIGN(const auto counter, get(kHistorySequence));
  long long last = 0;
  if (counter) {
    const auto parsed = util::parse_int(counter->value);
    if (!parsed || *parsed < 0) {
      return Error{ErrorKind::failed, "etcd key " + counter->key + " holds '" + util::printable(counter->value, 40) +
                                          "', not a sequence number"};
    }
    last = *parsed;
  }
  const long long sequence = last + 1;
  const std::string chunk_key = key(history_chunk_name(sequence));
  std::string chunk;
  if ((sequence - 1) % kEventsPerChunk != 0) {  // not the first event of its chunk
    PHX_TRY_ASSIGN(const auto current, get(history_chunk_name(sequence)));
    if (current) chunk = current->value;
  }
  chunk += line + "\n";
  // The counter unchanged means the chunk is too: every append rewrites both.
  Txn transaction;
  transaction.if_modified_at(key(kHistorySequence), counter ? counter->mod_revision : 0)
      .put(key(kHistorySequence), std::to_string(sequence))
      .put(chunk_key, chunk)
      .otherwise_get(chunk_key);
  if (newest_switch) transaction.put(key(kLastSwitch), line);
  // Chunks whose every event is older than the newest history_keep go; the rest of the
  // surplus is skipped when reading.
  const auto keep = static_cast<long long>(settings_.history_keep);
  if (sequence - keep >= kEventsPerChunk) {
    transaction.erase(key(history_chunk_name(1)), key(history_chunk_name(sequence - keep + 1)));
  }
  PHX_TRY_ASSIGN(const auto result, txn(transaction));
  if (result.succeeded) return true;
  // Another agent appended first, unless this very append landed on an endpoint that timed
  // out and the gateway sent it again.
  return !result.readings.empty() && !result.readings[0].empty() && result.readings[0][0].value == chunk;
}

Status EtcdStateStore::append_history(const HistoryEvent& event) {
  const std::string line = util::print_json(records::to_json(event).get());
  const bool newest_switch = is_switch(event.action) && event.result == HistoryResult::succeeded;
  for (int attempt = 0; attempt < kAppendAttempts; ++attempt) {
    PHX_TRY_ASSIGN(const bool appended, try_append(line, newest_switch));
    if (appended) return {};
  }
  return Error{ErrorKind::unavailable, "history kept changing under " + std::to_string(kAppendAttempts) +
                                           " attempts to append to it (many agents at once?)"};
}

Result<EtcdStateStore::HistoryChunks> EtcdStateStore::read_history_chunks() {
  const std::string start = key("history/");
  const std::string end = prefix_end(start);
  HistoryChunks read;
  std::string from = start;
  long long revision = 0;
  // Pages of one snapshot (the revision of the first page), oldest first. Appends keep at most
  // history_keep events; the bound only stops a store that never says "no more".
  const std::size_t max_pages = settings_.history_keep / kEventsPerChunk / kHistoryPage + 10;
  for (std::size_t page = 0;; ++page) {
    if (page == max_pages) {
      read.unreadable.push_back("etcd keys after " + util::printable(from, 80) + ": not read (more than " +
                                std::to_string(max_pages * kHistoryPage) + " chunks)");
      return read;
    }
    util::Json body(cJSON_CreateObject());
    util::add_string(body.get(), "key", base64_encode(from));
    util::add_string(body.get(), "range_end", base64_encode(end));
    util::add_string(body.get(), "limit", std::to_string(kHistoryPage));
    if (revision != 0) util::add_string(body.get(), "revision", std::to_string(revision));
    PHX_TRY_ASSIGN(const auto answer, gateway_.call("kv/range", body.get()));
    if (revision == 0) revision = int_field(cJSON_GetObjectItemCaseSensitive(answer.get(), "header"), "revision");
    PHX_TRY_ASSIGN(const auto kvs, key_values(answer.get()));
    for (const auto& kv : kvs) {
      read.chunks.emplace_back(kv.key, util::split_lines(kv.value));
      read.lines += read.chunks.back().second.size();
    }
    if (kvs.empty() || !util::json_bool(answer.get(), "more").value_or(false)) return read;
    from = kvs.back().key + std::string(1, '\0');
  }
}

Result<HistoryLog> EtcdStateStore::read_history() {
  PHX_TRY_ASSIGN(const auto read, read_history_chunks());
  HistoryLog log;
  log.unreadable = read.unreadable;
  // Storage drops whole chunks; the newest history_keep events are shown.
  std::size_t skip = read.lines > settings_.history_keep ? read.lines - settings_.history_keep : 0;
  log.events.reserve(read.lines - skip);
  for (const auto& [chunk_key, lines] : read.chunks) {
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (skip > 0) {
        --skip;
        continue;
      }
      auto document = util::parse_json(lines[i], "etcd");
      auto event =
          document ? records::history_event_from_json(document->get()) : Result<HistoryEvent>(document.error());
      if (event) {
        log.events.push_back(std::move(*event));
      } else {
        log.unreadable.push_back("etcd key " + chunk_key + ":" + std::to_string(i + 1) +
                                 ": unreadable record: " + util::printable(lines[i], 60));
      }
    }
  }
  return log;
}

Result<std::optional<HistoryEvent>> EtcdStateStore::last_switch() {
  PHX_TRY_ASSIGN(const auto current, get(kLastSwitch));
  return parse_record<HistoryEvent>(current, records::history_event_from_json);
}

}  // namespace phoenix::etcd
