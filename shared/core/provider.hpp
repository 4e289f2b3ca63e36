#pragma once
// The provider interface the core owns. The provider is the truth for "exists": it creates,
// lists, powers and destroys servers, and keeps each pool's metadata where any CI agent sees it.

#include <string>
#include <vector>

#include "shared/core/pool.hpp"
#include "shared/util/result.hpp"

namespace phoenix {

struct PoolSpec {
  PoolMetadata meta;  // label, created-at, revision, trigger user; verdicts start pending
  int size = 1;
};

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
  virtual Result<std::vector<Pool>> list_pools() = 0;
  // Creates the servers of a pool and deploys the release onto them, all servers at once: the
  // configured release, or with `spec.meta.rebuild_of` that pool's own release. Re-running it
  // for a pool whose creation was interrupted completes that pool.
  virtual Result<Pool> create_pool(const PoolSpec& spec) = 0;
  // Destroys every server of the pool and its metadata. For an unreadable pool: stops every
  // server the provider can find for it (looking again, not only at `pool.servers`) and
  // removes what is left of the pool.
  virtual Status destroy_pool(const Pool& pool) = 0;
  // Replaces the recorded metadata (verdicts) of an existing pool.
  virtual Status update_metadata(const PoolMetadata& meta) = 0;

  virtual bool supports_power() const = 0;
  // Stops or starts every server of the pool, keeping its addresses and release.
  virtual Status set_power(const Pool& pool, PowerState power) = 0;
};

}  // namespace phoenix
