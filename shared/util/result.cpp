#include "shared/util/result.hpp"

namespace phoenix {

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::failed:
      return 1;
    case ErrorKind::invalid:
      return 2;
    case ErrorKind::refused:
      return 3;
    case ErrorKind::unavailable:
    case ErrorKind::timeout:
      return 4;
  }
  return 1;
}

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::failed:
      return "failed";
    case ErrorKind::invalid:
      return "invalid";
    case ErrorKind::refused:
      return "refused";
    case ErrorKind::unavailable:
      return "unavailable";
    case ErrorKind::timeout:
      return "timeout";
  }
  return "failed";
}

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::none:
      return "none";
    case ErrorCode::not_found:
      return "not-found";
    case ErrorCode::already_exists:
      return "already-exists";
    case ErrorCode::lock_held:
      return "lock-held";
    case ErrorCode::lock_busy:
      return "lock-busy";
    case ErrorCode::lock_stale:
      return "lock-stale";
    case ErrorCode::interrupted:
      return "interrupted";
    case ErrorCode::no_candidate:
      return "no-candidate";
    case ErrorCode::newer_candidates_only:
      return "newer-candidates-only";
    case ErrorCode::changed_concurrently:
      return "changed-concurrently";
    case ErrorCode::guard_busy:
      return "guard-busy";
    case ErrorCode::unreadable_record:
      return "unreadable-record";
    case ErrorCode::changes_not_allowed:
      return "changes-not-allowed";
  }
  return "none";
}

}  // namespace phoenix
