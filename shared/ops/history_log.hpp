#pragma once
// Writing and reading history through the state store: one place that fills in who and when,
// and the questions several commands ask of it ("which switch succeeded last?", "has the
// interrupted switch's target ever served?").

#include <optional>
#include <string>
#include <vector>

#include "shared/ops/services.hpp"

namespace phoenix::ops {

// An event at the clock's now, by the CI trigger user (else the host), in the CI job.
HistoryEvent new_event(const Services& services, HistoryAction action, std::string label, HistoryResult result);

// What history records for an operation that ended with `outcome`: succeeded; refused (by a
// safety rule, ErrorKind::refused); interrupted (ErrorCode::interrupted); otherwise failed.
HistoryResult history_result(const Status& outcome);

// Gives `meta` the verdict `verdict` for `reason`, by whom and when as new_event names them, so
// the pool's record says who set its verdict even where no history event of it is ever written.
void give_verdict(const Services& services, PoolMetadata& meta, LiveVerdict verdict, std::string reason);

// Appends `event`, then notifies it (the end of what it records, with the `steps` of a switch
// that ran; ops/notifications.hpp). History never blocks what it records: a failure is a
// warning, returned so that the command can say in its result that this event is missing
// from history.
std::optional<std::string> record_history(Services& services, const HistoryEvent& event,
                                          const std::vector<StepTiming>& steps = {});

// The newest deploy, rollback or repair that succeeded: the pool the operator last made live.
// Unreadable history counts as none; the callers only use it to explain or to choose.
std::optional<HistoryEvent> last_successful_switch(Services& services);

// Whether the target of the interrupted switch `interrupted` never served, as history has it
// (has_served: a deploy of a new pool killed before it routed to it leaves it on standby, never
// served). Unreadable history counts as never served: such a target is taken out of the
// balancer rather than kept hot, and list does not show it as hot. Reads history whole: ask only
// about an interrupted switch.
bool never_served(Services& services, const Intent& interrupted);

}  // namespace phoenix::ops
