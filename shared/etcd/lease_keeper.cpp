#include "shared/etcd/lease_keeper.hpp"

namespace phoenix::etcd {

Renewal renew_lease(Gateway& gateway, const std::string& lease, std::string& detail) {
  util::Json body(cJSON_CreateObject());
  util::add_string(body.get(), "ID", lease);
  auto answer = gateway.call("lease/keepalive", body.get());
  if (!answer) {
    detail = answer.error().message;
    if (answer.error().is(ErrorCode::not_found)) return Renewal::gone;
    return answer.error().kind == ErrorKind::unavailable ? Renewal::unreachable : Renewal::gone;
  }
  // A lease etcd no longer knows is answered without a TTL (or with one of 0 or less).
  const cJSON* result = cJSON_GetObjectItemCaseSensitive(answer->get(), "result");
  if (int_field(result, "TTL") > 0) return Renewal::alive;
  detail = "etcd no longer knows lease " + lease + " (it expired)";
  return Renewal::gone;
}

LeaseKeeper::LeaseKeeper(std::unique_ptr<HttpClient> http, GatewaySettings settings, std::string lease,
                         std::chrono::seconds ttl, std::chrono::milliseconds every)
    : http_(std::move(http)),
      gateway_(*http_, std::move(settings), clock_),
      lease_(std::move(lease)),
      ttl_(ttl),
      every_(every),
      thread_([this] { run(); }) {}

LeaseKeeper::~LeaseKeeper() { stop(); }

void LeaseKeeper::stop() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string LeaseKeeper::why_lost() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return why_lost_;
}

void LeaseKeeper::mark_lost(const std::string& why) {
  const std::lock_guard<std::mutex> lock(mutex_);
  why_lost_ = why;
  lost_ = true;
}

void LeaseKeeper::run() {
  using Steady = std::chrono::steady_clock;
  auto renewed_at = Steady::now();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (wake_.wait_for(lock, every_, [this] { return stopping_; })) return;
    }
    std::string detail;
    switch (renew_lease(gateway_, lease_, detail)) {
      case Renewal::alive:
        renewed_at = Steady::now();
        ++renewals_;
        break;
      case Renewal::gone:
        mark_lost(detail);
        return;
      case Renewal::unreachable:
        if (Steady::now() - renewed_at >= ttl_) {
          mark_lost("no keep-alive reached etcd for " + std::to_string(ttl_.count()) +
                    " s, the lease's TTL (last error: " + detail + ")");
          return;
        }
        break;
    }
  }
}

}  // namespace phoenix::etcd
