#include "shared/util/files.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <random>
#include <sstream>
#include <thread>

#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/unique_fd.hpp"

namespace phoenix::util {

namespace {

Error io_error(ErrorKind kind, const std::string& what, const fs::path& path, int error_number) {
  return {kind, what + " " + path.string() + ": " + std::strerror(error_number)};
}

// The one shape of every error of a write (create, write, sync, rename, lock file): it names
// `path`, the file the caller asked for, never a temporary file beside it (a name that means
// nothing to the operator and is gone by the time they look).
Error write_error(const std::string& what, const fs::path& path, int error_number) {
  return io_error(ErrorKind::failed, what, path, error_number);
}

Status write_all(int fd, std::string_view content, const fs::path& path) {
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return write_error("cannot write", path, errno);
    }
    written += static_cast<std::size_t>(n);
  }
  return {};
}

void fsync_directory(const fs::path& directory) {
  const UniqueFd fd(::open(directory.empty() ? "." : directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

const char* file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "of an unusual type";
}

// `path` opened for reading if it is a regular file; `size` gets its size.
Result<UniqueFd> open_regular_file(const fs::path& path, off_t& size) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) return Error{ErrorKind::invalid, "cannot read " + path.string() + ": no such file"};
    if (errno == ENXIO) {
      return Error{ErrorKind::invalid, "cannot read " + path.string() + ": not a regular file (it is a socket)"};
    }
    return io_error(ErrorKind::invalid, "cannot read", path, errno);
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) return io_error(ErrorKind::invalid, "cannot read", path, errno);
  if (S_ISDIR(status.st_mode)) {
    return Error{ErrorKind::invalid, "cannot read " + path.string() + ": it is a directory"};
  }
  if (!S_ISREG(status.st_mode)) {
    return Error{ErrorKind::invalid, "cannot read " + path.string() + ": not a regular file (it is " +
                                         file_type_name(status.st_mode) + ")"};
  }
  size = status.st_size;
  return fd;
}

Error too_large(const fs::path& path, std::size_t max_bytes) {
  return {ErrorKind::invalid,
          "cannot read " + path.string() + ": it is larger than " + std::to_string(max_bytes) + " bytes"};
}

// Reads from `fd` until end of file, or until more than `max_bytes` came (then `truncated`).
Result<std::string> read_up_to(int fd, const fs::path& path, std::size_t max_bytes, bool& truncated) {
  std::string content;
  char buffer[65536];
  truncated = false;
  while (true) {
    const std::size_t room = max_bytes + 1 - content.size();
    const ssize_t n = ::read(fd, buffer, std::min(sizeof buffer, room));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(ErrorKind::invalid, "cannot read", path, errno);
    }
    if (n == 0) return content;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > max_bytes) {
      truncated = true;
      content.resize(max_bytes);
      return content;
    }
  }
}

}  // namespace

std::string random_suffix() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::to_string(generator() % 1000000000ULL);
}

Result<std::string> read_file(const fs::path& path, std::size_t max_bytes) {
  off_t size = 0;
  auto fd = open_regular_file(path, size);
  if (!fd) return fd.error();
  if (static_cast<std::uintmax_t>(size) > max_bytes) return too_large(path, max_bytes);
  // The size may change while reading (or be unknown, as in /proc): the limit holds regardless.
  bool truncated = false;
  auto content = read_up_to(fd->get(), path, max_bytes, truncated);
  if (content && truncated) return too_large(path, max_bytes);
  return content;
}

Result<std::string> read_file_tail(const fs::path& path, std::size_t max_bytes) {
  off_t size = 0;
  auto fd = open_regular_file(path, size);
  if (!fd) return fd.error();
  if (static_cast<std::uintmax_t>(size) > max_bytes) {
    ::lseek(fd->get(), size - static_cast<off_t>(max_bytes), SEEK_SET);
  }
  bool truncated = false;
  return read_up_to(fd->get(), path, max_bytes, truncated);
}

// The file `path` names once symbolic links in its last component are followed (a relative
// link target is relative to the link's directory). A dangling link gives the path it points
// to; a loop is an error.
Result<fs::path> follow_symlinks(const fs::path& path) {
  constexpr int kMaxLinks = 40;  // the kernel's own limit (ELOOP)
  fs::path current = path;
  for (int hops = 0; hops <= kMaxLinks; ++hops) {
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(current, ec))) return current;
    const fs::path target = fs::read_symlink(current, ec);
    if (ec) return Error{ErrorKind::failed, "cannot read the link " + current.string() + ": " + ec.message()};
    current = target.is_absolute() ? target : current.parent_path() / target;
  }
  return io_error(ErrorKind::failed, "cannot follow the link", path, ELOOP);
}

namespace {

// The writer's pid of `name` when it is a temporary file write_file_atomic made for `file`
// ("<file>.tmp-<pid>-<n>"), else nothing.
std::optional<pid_t> temporary_writer(const std::string& name, const std::string& file) {
  const std::string prefix = file + ".tmp-";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  const std::string rest = name.substr(prefix.size());
  const auto dash = rest.find('-');
  if (dash == 0 || dash == std::string::npos || dash + 1 == rest.size()) return std::nullopt;
  const std::string pid = rest.substr(0, dash);
  const std::string number = rest.substr(dash + 1);
  if (pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos ||
      number.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return static_cast<pid_t>(std::stol(pid));
}

// The writer's pid of `name` when it is a temporary file write_file_atomic made for one of
// `files`, else nothing.
std::optional<pid_t> temporary_writer(const std::string& name, const std::vector<std::string>& files) {
  for (const auto& file : files) {
    if (auto writer = temporary_writer(name, file)) return writer;
  }
  return std::nullopt;
}

}  // namespace

void remove_dead_writers_temporaries(const fs::path& directory, const std::vector<std::string>& files) {
  constexpr auto kUntouched = std::chrono::minutes(1);
  std::error_code ec;
  // Incremented with an error code: a directory that cannot be read is no reason to throw.
  for (fs::directory_iterator it(directory.empty() ? fs::path(".") : directory, ec), end; !ec && it != end;
       it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    const auto writer = temporary_writer(entry.path().filename().string(), files);
    if (!writer || *writer <= 0 || *writer == ::getpid()) continue;
    if (::kill(*writer, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    std::error_code time_ec;
    const auto touched = fs::last_write_time(entry.path(), time_ec);
    if (time_ec || fs::file_time_type::clock::now() - touched < kUntouched) continue;
    ::unlink(entry.path().c_str());
  }
}

void remove_dead_writers_temporaries(const fs::path& path) {
  const auto resolved = follow_symlinks(path);
  if (!resolved) return;  // the write that follows names the problem
  remove_dead_writers_temporaries(resolved->parent_path(), {resolved->filename().string()});
}

Result<fs::path> replacement_directory(const fs::path& path) {
  PHX_TRY_ASSIGN(const fs::path resolved, follow_symlinks(path));
  const fs::path directory = resolved.parent_path();
  return directory.empty() ? fs::path(".") : directory;
}

Status write_file_atomic(const fs::path& link_or_file, std::string_view content, int mode, Flush flush) {
  // Through a symbolic link, the file it points to is replaced and the link stays: the link is
  // how an operator told other programs (HAProxy) where the file lives.
  auto resolved = follow_symlinks(link_or_file);
  if (!resolved) return resolved.error();
  const fs::path& path = *resolved;
  // A file that exists keeps its permissions and, where allowed, its owner.
  struct stat existing {};
  const bool replacing = ::stat(path.c_str(), &existing) == 0;
  if (replacing) mode = static_cast<int>(existing.st_mode & 07777);
  const fs::path temporary = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + random_suffix();
  // Errors name `path`, not the temporary file: that is the file the operator knows.
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return write_error("cannot write", path, errno);
  if (replacing) {
    [[maybe_unused]] const int ignored = ::fchown(fd.get(), existing.st_uid, existing.st_gid);
    ::fchmod(fd.get(), static_cast<mode_t>(mode));
  }
  Status written = write_all(fd.get(), content, path);
  if (written.ok() && flush == Flush::to_disk && ::fsync(fd.get()) != 0) {
    written = write_error("cannot write", path, errno);
  }
  fd.reset();
  if (written.ok() && ::rename(temporary.c_str(), path.c_str()) != 0) {
    written = write_error("cannot replace", path, errno);
  }
  if (!written.ok()) {
    ::unlink(temporary.c_str());
    return written;
  }
  if (flush == Flush::to_disk) fsync_directory(path.parent_path());
  return {};
}

Status append_file_durable(const fs::path& path, std::string_view record) {
  const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) return write_error("cannot open", path, errno);
  Status written = write_all(fd.get(), record, path);
  if (written.ok() && ::fsync(fd.get()) != 0) written = write_error("cannot sync", path, errno);
  return written;
}

Status append_line_durable(const fs::path& path, std::string_view line) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return write_error("cannot open", path, errno);
  std::string record;
  struct stat info {};
  char last = '\n';
  if (::fstat(fd, &info) == 0 && info.st_size > 0 && ::pread(fd, &last, 1, info.st_size - 1) == 1 && last != '\n') {
    record += '\n';
  }
  record.append(line);
  record += '\n';
  Status written = write_all(fd, record, path);
  if (written.ok() && ::fsync(fd) != 0) written = write_error("cannot sync", path, errno);
  ::close(fd);
  return written;
}

Status make_directories(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return write_error("cannot create directory", path, ec.value());
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
  // The content is written whole into a temporary file beside `path` first, and link(2) then
  // gives it the name: unlike rename, link refuses a name that exists, and unlike an O_EXCL
  // create followed by a write, the name never exists without its content, so no reader sees
  // an empty or half-written file (a deploy lock seen empty would be judged stale), and a
  // crash leaves no such file (only a temporary one, removed by the next writer).
  remove_dead_writers_temporaries(path);
  const fs::path temporary = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + random_suffix();
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) return write_error("cannot create", path, errno);
  Status written = write_all(fd.get(), content, path);
  if (durable && written.ok() && ::fsync(fd.get()) != 0) written = write_error("cannot sync", path, errno);
  fd.reset();
  if (written.ok() && ::link(temporary.c_str(), path.c_str()) != 0) {
    const int link_error = errno;
    // Over NFS a link the server made can still report an error (its reply lost, the retry
    // finding the name taken): two names on the temporary file mean the link was made.
    struct stat linked {};
    const bool made = ::stat(temporary.c_str(), &linked) == 0 && linked.st_nlink == 2;
    if (!made) {
      written = link_error == EEXIST ? Error{ErrorKind::refused, path.string() + " already exists"}
                                     : write_error("cannot create", path, link_error);
    }
  }
  ::unlink(temporary.c_str());
  if (!written.ok()) return written;
  if (durable) fsync_directory(path.parent_path());
  return {};
}

namespace {

bool same_file(int fd, const fs::path& path) {
  struct stat held {};
  struct stat there {};
  return ::fstat(fd, &held) == 0 && ::stat(path.c_str(), &there) == 0 && held.st_dev == there.st_dev &&
         held.st_ino == there.st_ino;
}

// The lock on the file at `path`, or nothing when another holder has it now.
Result<std::optional<UniqueFd>> lock_file(const fs::path& path) {
  constexpr int kAttempts = 100;  // each one means the file was replaced while we waited
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) return write_error("cannot open lock file", path, errno);
    while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      if (errno == EWOULDBLOCK) return std::optional<UniqueFd>{};
      return io_error(ErrorKind::failed, "cannot lock", path, errno);
    }
    if (same_file(fd.get(), path)) return std::optional<UniqueFd>(std::move(fd));
  }
  return Error{ErrorKind::failed, "cannot lock " + path.string() + ": it keeps being replaced"};
}

}  // namespace

// Who holds the flock on `path`, in words: "pid 412 (deploy-pipeline), stopped (SIGSTOP/Ctrl-Z):
// 'kill -CONT 412' lets it go on", or "a process /proc/locks does not name (on another host?)".
std::string lock_holder_words(const fs::path& path) {
  const auto pid = flock_holder(path);
  if (!pid) return "a process /proc/locks does not name (one on another host sharing the directory?)";
  const auto id = static_cast<pid_t>(*pid);
  const std::string number = std::to_string(*pid);
  const auto name = process_name(id);
  std::string words = "pid " + number + (name ? " (" + *name + ")" : std::string());
  const auto ticks = process_start_ticks(id);
  if (ticks && is_stopped({.pid = id, .start_ticks = *ticks})) {
    words += ", stopped (SIGSTOP/Ctrl-Z): 'kill -CONT " + number + "' lets it go on, 'kill -9 " + number + "' ends it";
  }
  return words;
}

Result<FileLock> FileLock::acquire(const fs::path& path, std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    auto locked = lock_file(path);
    if (!locked) return locked.error();
    if (*locked) return FileLock(std::move(**locked));
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error{ErrorKind::unavailable,
                   "the lock file " + path.string() + " stayed held for " + format_duration_ms(patience.count()) +
                       " by " + lock_holder_words(path) + "; nothing was changed. Run this again once it is free",
                   ErrorCode::guard_busy};
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

Result<std::optional<FileLock>> FileLock::try_acquire(const fs::path& path) {
  auto locked = lock_file(path);
  if (!locked) return locked.error();
  if (!*locked) return std::optional<FileLock>{};
  return std::optional<FileLock>(FileLock(std::move(**locked)));
}

std::optional<long> flock_holder(const fs::path& path) {
  struct stat there {};
  if (::stat(path.c_str(), &there) != 0) return std::nullopt;
  // "1: FLOCK  ADVISORY  WRITE 412 08:01:1234 0 EOF": the device's major and minor in hex, then
  // the inode. A waiter's line has "->" after its number and names no holder.
  std::ostringstream file;
  file << std::hex << std::setfill('0') << std::setw(2) << major(there.st_dev) << ':' << std::setw(2)
       << minor(there.st_dev) << ':' << std::dec << there.st_ino;
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string number, type, mode, access, device;
    long pid = 0;
    if (fields >> number >> type >> mode >> access >> pid >> device && type == "FLOCK" && device == file.str()) {
      return pid;
    }
  }
  return std::nullopt;
}

fs::path resolve_against(const fs::path& base, const fs::path& path) {
  if (path.is_absolute()) return path;
  return (base / path).lexically_normal();
}

}  // namespace phoenix::util
