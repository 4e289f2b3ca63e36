#pragma once
// The state directory (`provider.state_dir`): where the deploy lock, the intent, the freeze,
// the watch record and history are written (and, with the local provider, the pools). Every
// deploy, rollback, repair, prune and mark writes there, so a directory that refuses writes or
// is full is told apart from other failures: `status` reports it as a problem before anyone
// acts, and a command that failed while it was so says which directory, which key sets it and
// what to do, instead of a bare errno line.

#include <filesystem>
#include <optional>
#include <string>

#include "shared/config/config.hpp"

namespace phoenix::cli {

// The configuration key that sets the state directory, for every provider type.
inline constexpr const char* kStateDirectoryKey = "provider.state_dir";

// The state directory the configuration names.
std::filesystem::path state_directory(const config::Config& config);

// A problem line for status when the state directory (its service folder once it exists) does
// not accept a new file now; nothing when it does (a probe file is created and removed).
std::optional<std::string> state_directory_problem(const config::Config& config);

// Whether the deploy lock could not be created in the state directory now, asked without
// creating anything (util::check_writable_without_writing): what a dry run, which takes no lock,
// asks where the real run's first write would fail. False where the lock is not a file there
// (Hetzner placement groups, etcd).
bool state_directory_refuses_lock(const config::Config& config);

// `message` (the final error line of a command that failed) with the state directory, its key
// and the fix added when that directory does not accept a new file now; `message` as it is
// otherwise, so a failure with another cause is not blamed on the directory.
std::string with_state_directory_advice(const std::string& message, const config::Config& config);

}  // namespace phoenix::cli
