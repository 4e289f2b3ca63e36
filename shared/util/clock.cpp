#include "shared/util/clock.hpp"

#include <thread>

namespace phoenix::util {

void SystemClock::sleep_for(std::chrono::milliseconds duration) { std::this_thread::sleep_for(duration); }

}  // namespace phoenix::util
