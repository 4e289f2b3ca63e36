#pragma once
// JSON forms of the records state stores keep: pool metadata, the lock holder, the intent
// record, the watch record and history events. Reading is lenient about missing optional fields (records written
// by older versions) and strict about types.

#include <cjson/cJSON.h>

#include "shared/core/pool.hpp"
#include "shared/core/state_store.hpp"
#include "shared/util/json.hpp"
#include "shared/util/result.hpp"

namespace phoenix::records {

void write_metadata(cJSON* object, const PoolMetadata& meta);
Result<PoolMetadata> read_metadata(const cJSON* object);

util::Json to_json(const LockHolder& holder);
// A record that is no lock holder (not a JSON object; pid or since missing or of another type)
// is an error saying so: "not a lock record: pid is not a number".
Result<LockHolder> lock_holder_from_json(const cJSON* object);

util::Json to_json(const Intent& intent);
Result<Intent> intent_from_json(const cJSON* object);

util::Json to_json(const HistoryEvent& event);
Result<HistoryEvent> history_event_from_json(const cJSON* object);

util::Json to_json(const WatchRecord& record);
Result<WatchRecord> watch_record_from_json(const cJSON* object);

util::Json to_json(const Freeze& freeze);
Result<Freeze> freeze_from_json(const cJSON* object);

}  // namespace phoenix::records
