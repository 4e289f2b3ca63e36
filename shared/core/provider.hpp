#pragma once
// The provider interface the core owns. The provider is the truth for "exists": it creates,
// lists, powers, archives and destroys servers, and keeps each pool's metadata where any CI
// agent sees it. tests/conformance/provider_conformance_test.cpp checks every implementation
// against this contract, including the tiers each one declares.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/pool.hpp"
#include "shared/util/result.hpp"

namespace phoenix {

struct PoolSpec {
  PoolMetadata meta;  // label, created-at, revision, trigger user; verdicts start pending
  int size = 1;
};

// The retention tiers a provider really has. Callers use a tier only where it is declared.
struct ProviderTiers {
  bool off = false;  // set_power stops and starts a pool's servers, keeping them
  // A stopped server costs what a running one does (Hetzner Cloud bills it until it is
  // deleted): the off tier saves boot time on recovery, never money.
  bool off_is_billed = false;
  bool cold = false;  // archive_pool and restore_pool keep a pool as an image of its release
};

// What the provider charges, for estimates: each server type per month (by location), and
// archive storage per GB and month. Net prices, as the provider publishes them.
struct ServerPrice {
  std::string server_type;
  std::string location;
  double monthly = 0;
};
struct PriceSheet {
  std::string currency;  // "EUR"
  std::vector<ServerPrice> servers;
  double archive_per_gb_month = 0;
};

// Called by archive_pool once the image is ready and before any server is destroyed: an error
// stops the archive there, with every server still in place.
using BeforeDestroying = std::function<Status()>;

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string describe() const = 0;

  // Every pool of the service, in no particular order, with each server's current state.
  // A pool whose record cannot be read (corrupt, or deleted while its servers run) is listed,
  // never skipped, because skipping it would make it look gone while its servers keep running:
  // `unreadable` says what is wrong and where, `complete` is false (so nothing deploys or rolls
  // back to it), the label is the name the provider keeps it under, the rest of the metadata is
  // unknown (defaults), and `servers` are the ones the provider can still find, running, each
  // with its address when the provider can tell it (else an empty host and port 0).
  // A cold pool is listed with its archive and metadata and no servers.
  virtual Result<std::vector<Pool>> list_pools() = 0;
  // Creates the servers of a pool and deploys the release onto them, all servers at once: the
  // configured release, or with `spec.meta.rebuild_of` that pool's own release. Re-running it
  // for a pool whose creation was interrupted completes that pool.
  virtual Result<Pool> create_pool(const PoolSpec& spec) = 0;
  // Destroys every server of the pool, its archive if it has one, and its metadata. For an
  // unreadable pool: stops every server the provider can find for it (looking again, not only
  // at `pool.servers`) and removes what is left of the pool.
  virtual Status destroy_pool(const Pool& pool) = 0;
  // What a create that failed before it recorded the pool left under `label` (nothing
  // list_pools lists, since there is no record): removed when nothing of it runs and no create
  // holds it; with `dry_run` only looked at. False when there is no such leftover. A provider
  // that records a pool before it makes anything of it has none.
  virtual Result<bool> remove_unrecorded(const std::string& /*label*/, bool /*dry_run*/) { return false; }
  // Replaces the recorded metadata (verdicts, last wake) of an existing pool, cold or not.
  virtual Status update_metadata(const PoolMetadata& meta) = 0;

  virtual ProviderTiers tiers() const = 0;
  // Stops or starts every server of the pool, keeping its addresses and release. Only where
  // tiers().off.
  virtual Status set_power(const Pool& pool, PowerState power) = 0;
  // The cold tier, only where tiers().cold. Makes an image of the pool's release (one server's
  // disk), labelled with the pool's identity and metadata, and waits until the provider says it
  // is ready; then calls `before_destroying` (a provider whose one external step does both, the
  // exec provider, calls it before that step), then destroys the pool's servers. The pool stays
  // in list_pools, cold, with its metadata. No server is destroyed before its image is ready.
  // Re-running it after an interruption completes it (an image already made is used, one that
  // failed is replaced).
  virtual Result<Archive> archive_pool(const Pool& pool, const BeforeDestroying& before_destroying) = 0;
  // Recreates the servers of a cold pool from its archive, all at once, with no deployment of
  // the release (nothing is fetched from package mirrors or artifact stores). Re-running it
  // completes a partial restore. The archive stays, so archiving the pool again is quick.
  virtual Result<Pool> restore_pool(const Pool& pool) = 0;
  // The provider's prices, or nothing where it has none (local processes).
  virtual Result<std::optional<PriceSheet>> prices() = 0;
};

}  // namespace phoenix
