#include "shared/util/writable.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "shared/util/files.hpp"
#include "shared/util/unique_fd.hpp"

namespace phoenix::util {

namespace {

// `looking_up`: the error came from finding the directory, where ENOENT means it is missing;
// creating a file in a directory that exists can fail with ENOENT too (/proc), which is not.
WriteProbe obstacle_of(int error_number, bool looking_up) {
  switch (error_number) {
    case ENOSPC:
    case EDQUOT:
      return {WriteObstacle::full, std::strerror(error_number)};
    case EROFS:
    case EACCES:
    case EPERM:
      return {WriteObstacle::not_writable, std::strerror(error_number)};
    case ENOENT:
    case ENOTDIR:
      if (!looking_up) break;
      return {WriteObstacle::missing, std::strerror(error_number)};
    default:
      break;
  }
  return {WriteObstacle::other, std::strerror(error_number)};
}

std::string probe_name() { return ".phoenix-write-probe-" + std::to_string(::getpid()) + "-" + random_suffix(); }

}  // namespace

WriteProbe probe_writable_directory(const std::filesystem::path& directory) {
  struct stat status {};
  if (::stat(directory.c_str(), &status) != 0) return obstacle_of(errno, true);
  if (!S_ISDIR(status.st_mode)) return {WriteObstacle::not_directory, "not a directory"};
  const std::filesystem::path probe = directory / probe_name();
  UniqueFd fd(::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return obstacle_of(errno, false);
  const bool written = ::write(fd.get(), "-", 1) == 1;
  const int write_errno = errno;
  fd.reset();
  ::unlink(probe.c_str());
  if (!written) return obstacle_of(write_errno, false);
  return {};
}

WriteProbe check_writable_without_writing(const std::filesystem::path& directory) {
  struct stat status {};
  if (::stat(directory.c_str(), &status) != 0) return obstacle_of(errno, true);
  if (!S_ISDIR(status.st_mode)) return {WriteObstacle::not_directory, "not a directory"};
  if (::faccessat(AT_FDCWD, directory.c_str(), W_OK | X_OK, AT_EACCESS) != 0) return obstacle_of(errno, false);
  struct statvfs space {};
  if (::statvfs(directory.c_str(), &space) != 0) return {};  // cannot tell: creating a file is the judge
  // Root may use the blocks and inodes reserved for it; anyone else only the available ones.
  const bool root = ::geteuid() == 0;
  const auto blocks = root ? space.f_bfree : space.f_bavail;
  const auto inodes = root ? space.f_ffree : space.f_favail;
  // A file system that counts no blocks or no inodes at all (0 in all) has no such limit to reach.
  if ((space.f_blocks != 0 && blocks == 0) || (space.f_files != 0 && inodes == 0)) return obstacle_of(ENOSPC, false);
  return {};
}

std::filesystem::path nearest_existing_directory(const std::filesystem::path& path) {
  std::filesystem::path directory = path.empty() ? std::filesystem::path(".") : path;
  std::error_code ec;
  while (!std::filesystem::exists(directory, ec) && directory.has_relative_path()) {
    directory = directory.has_parent_path() ? directory.parent_path() : std::filesystem::path(".");
  }
  return directory;
}

}  // namespace phoenix::util
