#include "shared/core/advice.hpp"

namespace phoenix {

std::string past_the_lock(const std::string& command, bool lock_stale) {
  return command + (lock_stale ? " --break-lock" : "");
}

std::string fixed_or_rebuilt_release(bool lock_stale) {
  return "a fixed release ('create-pipeline run --label L', then '" +
         past_the_lock("deploy-pipeline deploy --label L", lock_stale) +
         "'), or a known-good release built again ('create-pipeline rebuild --from L', then deploy it)";
}

}  // namespace phoenix
