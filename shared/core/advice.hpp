#pragma once
// Words of advice that refusals (the planner's) and status share, so that both name a way on
// the same way.

#include <string>

namespace phoenix {

// `command` ("deploy-pipeline repair") as the operator must run it now: with --break-lock while
// the deploy lock is stale or its record cannot be read (`lock_stale`), since that lock refuses
// it otherwise. Only for commands that take the deploy lock (deploy, rollback, repair).
std::string past_the_lock(const std::string& command, bool lock_stale);

// The way back to serving when no pool at hand will do, after "deploy": a release built afresh,
// a fixed one or a known-good one built again. The deploy it names carries --break-lock while the
// deploy lock is stale (`lock_stale`).
std::string fixed_or_rebuilt_release(bool lock_stale = false);

}  // namespace phoenix
