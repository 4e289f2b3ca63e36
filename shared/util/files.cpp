#include "shared/util/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "shared/util/unique_fd.hpp"

namespace phoenix::util {

namespace {

Error io_error(ErrorKind kind, const std::string& what, const fs::path& path, int error_number) {
  return {kind, what + " " + path.string() + ": " + std::strerror(error_number)};
}

Status write_all(int fd, std::string_view content, const fs::path& path) {
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(ErrorKind::failed, "cannot write", path, errno);
    }
    written += static_cast<std::size_t>(n);
  }
  return {};
}

void fsync_directory(const fs::path& directory) {
  const UniqueFd fd(::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

std::string random_suffix() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::to_string(generator() % 1000000000ULL);
}

}  // namespace

Result<std::string> read_file(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return Error{ErrorKind::invalid, "cannot read " + path.string() + ": no such file"};
  }
  if (fs::is_directory(status)) {
    return Error{ErrorKind::invalid, "cannot read " + path.string() + ": it is a directory"};
  }
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return io_error(ErrorKind::invalid, "cannot read", path, errno);
  std::string content;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(ErrorKind::invalid, "cannot read", path, errno);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  return content;
}

Status write_file_atomic(const fs::path& path, std::string_view content, int mode) {
  // A file that exists keeps its permissions and, where allowed, its owner.
  struct stat existing {};
  const bool replacing = ::stat(path.c_str(), &existing) == 0;
  if (replacing) mode = static_cast<int>(existing.st_mode & 07777);
  const fs::path temporary = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + random_suffix();
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return io_error(ErrorKind::failed, "cannot create", temporary, errno);
  if (replacing) {
    [[maybe_unused]] const int ignored = ::fchown(fd.get(), existing.st_uid, existing.st_gid);
    ::fchmod(fd.get(), static_cast<mode_t>(mode));
  }
  Status written = write_all(fd.get(), content, temporary);
  if (written.ok() && ::fsync(fd.get()) != 0) written = io_error(ErrorKind::failed, "cannot sync", temporary, errno);
  fd.reset();
  if (written.ok() && ::rename(temporary.c_str(), path.c_str()) != 0) {
    written = io_error(ErrorKind::failed, "cannot replace", path, errno);
  }
  if (!written.ok()) {
    ::unlink(temporary.c_str());
    return written;
  }
  fsync_directory(path.parent_path());
  return {};
}

Status append_file_durable(const fs::path& path, std::string_view record) {
  const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) return io_error(ErrorKind::failed, "cannot open", path, errno);
  Status written = write_all(fd.get(), record, path);
  if (written.ok() && ::fsync(fd.get()) != 0) written = io_error(ErrorKind::failed, "cannot sync", path, errno);
  return written;
}

Status make_directories(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return Error{ErrorKind::failed, "cannot create directory " + path.string() + ": " + ec.message()};
  return {};
}

Status copy_tree(const fs::path& source, const fs::path& destination) {
  std::error_code ec;
  const auto options =
      fs::copy_options::recursive | fs::copy_options::copy_symlinks | fs::copy_options::overwrite_existing;
  fs::copy(source, destination, options, ec);
  if (ec) {
    return Error{ErrorKind::failed,
                 "cannot copy " + source.string() + " to " + destination.string() + ": " + ec.message()};
  }
  return {};
}

Status remove_tree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return Error{ErrorKind::failed, "cannot remove " + path.string() + ": " + ec.message()};
  return {};
}

Status create_exclusive(const fs::path& path, std::string_view content, bool durable) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno == EEXIST) return Error{ErrorKind::refused, path.string() + " already exists"};
    return io_error(ErrorKind::failed, "cannot create", path, errno);
  }
  Status written = write_all(fd.get(), content, path);
  if (durable && written.ok() && ::fsync(fd.get()) != 0) {
    written = io_error(ErrorKind::failed, "cannot sync", path, errno);
  }
  fd.reset();
  if (!written.ok()) {
    ::unlink(path.c_str());
    return written;
  }
  if (durable) fsync_directory(path.parent_path());
  return {};
}

Result<FileLock> FileLock::acquire(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return io_error(ErrorKind::failed, "cannot open lock file", path, errno);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    return io_error(ErrorKind::failed, "cannot lock", path, errno);
  }
  return FileLock(std::move(fd));
}

fs::path resolve_against(const fs::path& base, const fs::path& path) {
  if (path.is_absolute()) return path;
  return (base / path).lexically_normal();
}

}  // namespace phoenix::util
