#pragma once
// The process table as Linux shows it in /proc: what the local provider needs to find the
// servers of a pool whose record is lost or cannot be read. Only processes this user may
// inspect are seen (all of them for root).

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shared/util/process.hpp"

namespace phoenix::providers {

// One process as /proc describes it at the moment it was read.
struct ProcessFacts {
  util::ProcessIdentity identity;
  std::filesystem::path working_directory;
  std::filesystem::path executable;
  std::vector<std::string> arguments;
  std::vector<std::string> environment;  // NAME=value, as the process was started
  std::filesystem::path output;          // where its stdout (descriptor 1) goes
  // "host:port" of every IPv4 TCP socket it listens on, in no particular order.
  std::vector<std::string> listening;

  // The value of NAME in its environment, if set.
  std::optional<std::string> variable(const std::string& name) const;
};

// Every live process whose working directory is `directory` or lies under it, in pid order.
// `directory` may be relative or hold symbolic links; it is resolved first.
std::vector<ProcessFacts> processes_working_in(const std::filesystem::path& directory);

// Whether `path` is `directory` or lies under it, component by component, both normalised
// lexically as given (no symbolic link is followed). Never within an empty directory.
bool is_within(const std::filesystem::path& path, const std::filesystem::path& directory);

}  // namespace phoenix::providers
