#pragma once
// A StateStore in etcd, so every CI agent of a service shares one deploy lock, one intent
// record, one freeze and one history (docs/scaling.md).
//
// Keys, under <prefix>/<service>/:
//   lock           the LockHolder, bound to a lease its holder keeps alive
//   intent         the Intent of the switch in progress
//   freeze         the Freeze
//   watch          the WatchRecord of a running watch
//   history/<n>    chunk n (20 digits, key order = age): the events with sequence numbers
//                  100n+1 .. 100n+100, one JSON line each, in order
//   history-seq    the sequence number of the newest event
//   last-switch    the newest successful deploy, rollback or repair
//
// Guarantees:
// - The lock is created by a transaction that succeeds only when the key does not exist, so
//   two agents never both hold it. It is bound to a lease (lease_ttl_s) that a thread of the
//   holder renews every third of the TTL: a killed holder loses it by itself within the TTL.
//   keep_lock (before every switch step) renews the lease and checks that the key is still
//   bound to it; a holder whose lease was lost, or whose lock was taken over, stops.
//   release_lock revokes the lease, which deletes the key.
// - The intent is written and cleared only while the key `lock` is bound to this holder's
//   lease (or, by a command that holds no lock, only while nobody holds it): a holder that
//   lost its lock cannot overwrite the intent of the next one.
// - A watch record is removed by a transaction conditioned on the revision that was read and
//   found to be the remover's: a watch that ends never removes a later watch's record.
// - The freeze is replaced or removed by a transaction conditioned on the revision of the
//   record that was read and found to be the one expected (none: the key must not exist), so two
//   agents that read the same freeze never both replace it.
// - History appends are serialised by a transaction on history-seq: the event (its chunk
//   rewritten), the new sequence number, the last switch and the removal of chunks wholly
//   beyond history_keep are one atomic write; two agents appending at once both land, in
//   order, and never overwrite each other. Reading shows exactly the newest history_keep
//   events. last_switch() reads one key. Chunks keep a full history to about a hundred keys,
//   which etcd's JSON gateway serves in tens of milliseconds (one key per event took ~150 ms).
// - Every call is bounded by the timeout per endpoint; when no endpoint can serve a call (all
//   unreachable, or no quorum), the error is `unavailable` and names the endpoints.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/http_client.hpp"
#include "shared/core/state_store.hpp"
#include "shared/etcd/gateway.hpp"
#include "shared/etcd/lease_keeper.hpp"
#include "shared/util/clock.hpp"

namespace phoenix::etcd {

struct EtcdSettings {
  std::vector<std::string> endpoints;
  std::string prefix = "/phoenix";
  std::string service;
  std::chrono::seconds lease_ttl{15};
  std::chrono::milliseconds timeout{2000};
  std::size_t history_keep = 10000;
};

// Makes the HTTP client the lease keeper's thread uses (a client is used by one thread).
using HttpClientFactory = std::function<std::unique_ptr<HttpClient>()>;

class EtcdStateStore final : public StateStore {
 public:
  EtcdStateStore(EtcdSettings settings, HttpClient& http, HttpClientFactory keeper_http, std::string this_host,
                 util::Clock& clock);
  ~EtcdStateStore() override;
  EtcdStateStore(const EtcdStateStore&) = delete;
  EtcdStateStore& operator=(const EtcdStateStore&) = delete;

  std::string describe() const override;
  Result<LockOutcome> acquire_lock(const LockRequest& request) override;
  Status release_lock(const LockHolder& holder) override;
  Result<std::optional<LockHolder>> read_lock() override;
  std::optional<std::string> staleness(const LockHolder& holder, std::chrono::seconds stale_after) override;
  Status keep_lock(const LockHolder& holder) override;
  Status write_intent(const Intent& intent) override;
  Result<std::optional<Intent>> read_intent() override;
  Status clear_intent() override;
  Status write_watch(const WatchRecord& record) override;
  Result<std::optional<WatchRecord>> read_watch() override;
  Status clear_watch(const LockHolder& holder) override;
  Result<std::optional<Freeze>> read_freeze() override;
  Status replace_freeze(const std::optional<Freeze>& expected, const std::optional<Freeze>& next) override;
  Status clear_unreadable_freeze() override;
  Status append_history(const HistoryEvent& event) override;
  Result<HistoryLog> read_history() override;
  Result<std::optional<HistoryEvent>> last_switch() override;

  // The lease this process holds the lock with ("" when none), for tests.
  const std::string& lease() const { return lease_; }

  static constexpr long long kEventsPerChunk = 100;

  // The key of `name` under <prefix>/<service>/ ("lock", "history/00000000000000000001").
  std::string key(const std::string& name) const;
  // "history/<n>", the chunk that holds event `sequence` (1-based).
  static std::string history_chunk_name(long long sequence);

 private:
  struct HistoryChunks {
    std::vector<std::pair<std::string, std::vector<std::string>>> chunks;  // key, lines; oldest first
    std::size_t lines = 0;
    std::vector<std::string> unreadable;
  };
  // Every history chunk, from one snapshot.
  Result<HistoryChunks> read_history_chunks();
  // One key: nothing, or its value with revisions.
  Result<std::optional<KeyValue>> get(const std::string& name);
  Result<TxnResult> txn(const Txn& transaction);
  Result<std::string> grant_lease();
  void revoke_lease(const std::string& lease);
  void start_keeper();
  void forget_lease();
  // Adds the condition that the intent may be written under: the lock is ours, or nobody's.
  void require_lock_for_intent(Txn& transaction) const;
  // Why a conditioned intent write did not happen, as a `refused` lock_held error.
  Error intent_refused();
  Status write_intent_record(const std::optional<Intent>& intent);
  // Replaces the stale lock record `current` (of `stale_holder`) with `holder`'s, bound to `lease`.
  // One attempt to append `line` as event number last + 1; nothing when another agent
  // appended first.
  Result<bool> try_append(const std::string& line, bool newest_switch);
  Result<LockOutcome> take_over(const KeyValue& current, const std::optional<LockHolder>& stale_holder,
                                const LockHolder& holder, const std::string& lease);

  EtcdSettings settings_;
  Gateway gateway_;
  HttpClientFactory keeper_http_;
  std::string this_host_;
  util::Clock& clock_;
  std::string lease_;                 // the lease of the lock this process holds, or ""
  std::optional<LockHolder> holder_;  // who holds it through this store
  std::unique_ptr<LeaseKeeper> keeper_;
};

}  // namespace phoenix::etcd
