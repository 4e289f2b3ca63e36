#pragma once
// What history says about a pool's live verdict: who marked it bad and when (the pool's record
// keeps them too, without the CI job, for when history has no event of it), and a watch's breach
// that no rollback answered. Pure: the events come in, nothing is read here.

#include <optional>
#include <string>
#include <vector>

#include "shared/core/pool.hpp"
#include "shared/core/state_store.hpp"

namespace phoenix {

// The event that marked `label` bad for the verdict it has now: the first of the events that
// mark a pool bad (mark-bad of it; a rollback or automatic rollback away from it; a watch's
// breach of it) since the last mark-good of it, or nothing when history has none. A later
// rollback away from a pool already marked bad keeps the first mark (its reason too).
std::optional<HistoryEvent> bad_mark_of(const std::vector<HistoryEvent>& events, const std::string& label);

// Whether `label` has served as history has it: a successful switch made it live or replaced it.
// A pool only ever the target of switches that did not succeed (a deploy stopped before it routed
// to it) has not.
bool has_served(const std::vector<HistoryEvent>& events, const std::string& label);

// "marked bad by ops-a at 2026-11-27T07:30:00Z: <reason>": who and when as history's `mark` has
// them (with the CI job), else as the pool's record has them (PoolMetadata::verdict_by and
// verdict_at: a rollback killed before its history event still wrote them with the mark), or
// without "by ... at ..." when neither says (a record written before they were kept).
std::string describe_bad_mark(const Pool& pool, const std::optional<HistoryEvent>& mark);

// "marked bad (<reason>)", or "marked bad" when the pool's record gives no reason: the words a
// refusal or warning puts after "pool L is" before it goes on.
std::string describe_bad_mark_briefly(const Pool& pool);

// The breach of a watch of `watched` recorded at or after `since` (the watch's start) that
// nothing answered: no switch, of any outcome but refused (a refused rollback changed nothing),
// and no mark-good of the pool was recorded after it.
// Its `detail` is the measured breach, its `from` the pool the automatic rollback went to ("":
// the rollback's own choice).
std::optional<HistoryEvent> unanswered_breach_of(const std::vector<HistoryEvent>& events, const std::string& watched,
                                                 WallTime since);

}  // namespace phoenix
