// libFuzzer target: the configuration parser must turn any bytes into a Config or into one
// `invalid` error line, never crash, hang or throw.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "shared/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto config = phoenix::config::parse_config(text, "/fuzz/phoenix.json");
  if (!config.ok()) {
    const auto& error = config.error();
    if (error.kind != phoenix::ErrorKind::invalid || error.message.empty() ||
        error.message.find('\n') != std::string::npos) {
      std::abort();
    }
  }
  return 0;
}
