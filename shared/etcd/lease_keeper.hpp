#pragma once
// Keeps an etcd lease alive from a thread of its own while a command holds the deploy lock,
// so a long step (a health wait, a drain) never lets the lock expire under a living holder,
// while a killed holder stops renewing and loses the lock one TTL later.
//
// The keeper renews every `every` (a third of the TTL) with its own HTTP client. It marks the
// lease lost when etcd says the lease is gone, or when no renewal succeeded for a whole TTL
// (etcd may have expired it meanwhile: better to stop than to act without the lock). Lost is
// final; keep_lock reads it before every step. It runs on real time: it renews a real lease.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "shared/core/http_client.hpp"
#include "shared/etcd/gateway.hpp"
#include "shared/util/clock.hpp"

namespace phoenix::etcd {

enum class Renewal { alive, gone, unreachable };

// One keep-alive of `lease`: alive (etcd answered with a TTL left), gone (etcd no longer knows
// it: answered without a TTL, or NOT_FOUND), or unreachable (no endpoint could serve it).
Renewal renew_lease(Gateway& gateway, const std::string& lease, std::string& detail);

class LeaseKeeper {
 public:
  LeaseKeeper(std::unique_ptr<HttpClient> http, GatewaySettings settings, std::string lease, std::chrono::seconds ttl,
              std::chrono::milliseconds every);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Whether the lease was lost, and why ("" while it lives).
  bool lost() const { return lost_.load(); }
  std::string why_lost() const;
  // How many renewals etcd answered with a TTL (for tests and diagnostics).
  int renewals() const { return renewals_.load(); }
  // Stops renewing and joins the thread (the destructor does the same).
  void stop();

 private:
  void run();
  void mark_lost(const std::string& why);

  std::unique_ptr<HttpClient> http_;
  util::SystemClock clock_;  // real time: the lease is renewed in real time
  Gateway gateway_;
  std::string lease_;
  std::chrono::seconds ttl_;
  std::chrono::milliseconds every_;
  std::atomic<bool> lost_{false};
  std::atomic<int> renewals_{0};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string why_lost_;
  std::thread thread_;
};

}  // namespace phoenix::etcd
