#include "shared/cli/state_directory.hpp"

#include <variant>

#include "shared/util/writable.hpp"

namespace phoenix::cli {

namespace {

// The folder of this service in the state directory once it exists (where the files are),
// else the state directory itself, else its nearest existing parent (where it would be made).
std::filesystem::path directory_to_probe(const config::Config& config) {
  const auto root = state_directory(config);
  std::error_code ec;
  if (std::filesystem::is_directory(root / config.service, ec)) return root / config.service;
  return util::nearest_existing_directory(root);
}

// What stands in the way of writing in the state directory now (a probe file is created and
// removed), or nothing.
std::optional<util::WriteProbe> state_directory_obstacle(const config::Config& config) {
  auto probe = util::probe_writable_directory(directory_to_probe(config));
  if (probe.obstacle == util::WriteObstacle::none) return std::nullopt;
  return probe;
}

// "is full (No space left on device)", "is not writable (Read-only file system)", ...
std::string described(const util::WriteProbe& probe) {
  switch (probe.obstacle) {
    case util::WriteObstacle::full:
      return "is full (" + probe.reason + ")";
    case util::WriteObstacle::not_writable:
      return "is not writable (" + probe.reason + ")";
    case util::WriteObstacle::missing:
    case util::WriteObstacle::not_directory:
      return "is not a directory";
    case util::WriteObstacle::none:
    case util::WriteObstacle::other:
      break;
  }
  return "cannot be written (" + probe.reason + ")";
}

std::string what_to_do(const util::WriteProbe& probe) {
  if (probe.obstacle == util::WriteObstacle::full) return "free space on its file system";
  return "make it writable for this user, or set " + std::string(kStateDirectoryKey) + " to a directory that is";
}

}  // namespace

std::filesystem::path state_directory(const config::Config& config) {
  return std::visit([](const auto& provider) { return provider.state_dir; }, config.provider);
}

std::optional<std::string> state_directory_problem(const config::Config& config) {
  const auto obstacle = state_directory_obstacle(config);
  if (!obstacle) return std::nullopt;
  return "state directory " + state_directory(config).string() + " (" + kStateDirectoryKey + ") " +
         described(*obstacle) + ": deploys and rollbacks will fail; " + what_to_do(*obstacle);
}

bool state_directory_refuses_lock(const config::Config& config) {
  const bool lock_is_a_file = std::holds_alternative<config::FileStateConfig>(config.state) &&
                              !std::holds_alternative<config::HcloudProviderConfig>(config.provider);
  if (!lock_is_a_file) return false;
  return util::check_writable_without_writing(directory_to_probe(config)).obstacle != util::WriteObstacle::none;
}

std::string with_state_directory_advice(const std::string& message, const config::Config& config) {
  const auto obstacle = state_directory_obstacle(config);
  if (!obstacle) return message;
  return message + "; the state directory " + state_directory(config).string() + " (" + kStateDirectoryKey + ") " +
         described(*obstacle) + ": " + what_to_do(*obstacle) + ", then run the command again";
}

}  // namespace phoenix::cli
