#pragma once
// deploy-pipeline's operations on decisions rather than servers: freezing deploys, and a
// pool's verdict by hand. Each is recorded in history.

#include <optional>
#include <string>

#include "shared/ops/services.hpp"

namespace phoenix::ops {

struct FreezeOptions {
  std::string reason;
  bool all = false;  // rollbacks and repairs too, not only deploys
};
// Blocks deploys (and with `all`, rollbacks and repairs) until unfreeze. While frozen, only a
// freeze that widens the one in place (to `all`) is accepted, keeping its reason beside the new
// one; any other is refused (ErrorKind::refused), changing nothing. The rule is applied to the
// record the write replaces: a freeze written by another command between this one's read and
// its write is read again and judged (StateStore::replace_freeze), so of two freezes at once
// the narrower never replaces the wider.
// A freeze made while another command holds the deploy lock warns that it does not stop that
// command, naming it.
Status freeze(Services& services, const FreezeOptions& options);
// What an unfreeze removed: the freeze it lifted, or a record that could not be read (why not).
// Both nothing: there was none.
struct Unfreezing {
  std::optional<Freeze> lifted;
  std::optional<std::string> unreadable;
};
// Lifts a freeze (the one in place when it writes). A freeze record that cannot be read
// (ErrorCode::unreadable_record) blocks nothing it can name, and is removed
// (StateStore::clear_unreadable_freeze); a freeze over it is refused, naming the way out.
Result<Unfreezing> unfreeze(Services& services);

// `refused` naming who froze, why and since when, when `operation` may not run now.
Status check_not_frozen(Services& services, Operation operation);

struct VerdictOptions {
  std::string label;
  LiveVerdict verdict = LiveVerdict::bad;  // bad or good
  std::string reason;                      // required for bad; for good, optional (recorded after who marked it)
};
// Changes only the pool's verdict (a bad pool is no rollback target and never stays hot). A good
// mark is refused (`refused`, nothing changed) for a pool whose creation did not finish: its
// release never ran whole, and a good mark would make it a rollback target.
Status set_verdict(Services& services, const VerdictOptions& options);

}  // namespace phoenix::ops
