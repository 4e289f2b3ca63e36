#pragma once
// Filesystem helpers. Writes that other runs read are atomic: a reader sees the old content
// or the new, never a torn file, even after a crash or power loss.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/util/result.hpp"
#include "shared/util/unique_fd.hpp"

namespace phoenix::util {

namespace fs = std::filesystem;

// The most read_file reads unless told otherwise: far above any file Phoenix keeps, far below
// what would exhaust memory.
inline constexpr std::size_t kMaxFileBytes = std::size_t{64} << 20;

// Reads a whole regular file of at most `max_bytes`. A missing file, a directory, anything
// that is not a regular file (a FIFO, a device such as /dev/zero, a socket), a file larger than
// `max_bytes` or a permission problem is an `invalid` error naming the path, returned at once:
// the file is opened with O_NONBLOCK, so a FIFO without a writer cannot block the open.
Result<std::string> read_file(const fs::path& path, std::size_t max_bytes = kMaxFileBytes);

// At most the last `max_bytes` of a regular file (for showing the end of a log), with the same
// refusals as read_file except the size.
Result<std::string> read_file_tail(const fs::path& path, std::size_t max_bytes);

// How far a write goes before it returns: `to_disk` survives a power loss; `atomic_only` is
// seen whole or not at all by every reader and survives the writer's death, but after a power
// loss the file may hold what it held before, or (on file systems that do not flush a file
// renamed over another) nothing.
enum class Flush { to_disk, atomic_only };

// Writes `content` to a temporary file beside `path`, fsyncs it, renames it over `path` and
// fsyncs the directory (neither fsync with Flush::atomic_only). An existing file keeps its mode
// and owner; a new one gets `mode`. When `path` is a symbolic link (or a chain of them), the
// file it points to is replaced, in its own directory, and the link is left as it is. A writer
// killed mid-write (kill -9) leaves its temporary file ("<file>.tmp-<pid>-<n>"):
// remove_dead_writers_temporaries removes those, once per command where the owner of the
// files calls it (not on every write: a switch writes its progress before every step).
Status write_file_atomic(const fs::path& path, std::string_view content, int mode = 0644, Flush flush = Flush::to_disk);
// Removes the temporary files that write_file_atomic's writers of `files` (names of files in
// `directory`) left when killed between creating and renaming them (kill -9, a full disk): only
// a dead writer's (its pid does not run), never this process's, and only one untouched for a
// minute, so a live writer whose pid this host cannot see (the directory shared with another
// host or container) is never robbed of its file. Other files' temporaries are left alone. One
// read of the directory; one that cannot be read is left as it is.
void remove_dead_writers_temporaries(const fs::path& directory, const std::vector<std::string>& files);
// The same for the one file write_file_atomic(path) replaces (symbolic links followed).
void remove_dead_writers_temporaries(const fs::path& path);
// The directory write_file_atomic(path) creates its temporary file in and renames it within:
// that of the file `path` names once symbolic links are followed. It must be writable (and
// searchable) by the user for the write to succeed; the file itself need not be.
Result<fs::path> replacement_directory(const fs::path& path);

// Appends one record with O_APPEND and fsyncs: concurrent appenders never interleave records
// smaller than PIPE_BUF on local filesystems.
Status append_file_durable(const fs::path& path, std::string_view record);

// Appends `line` and a newline, durably. When the file does not end with a newline (a crash
// tore its last line), the line starts on a line of its own, so it is never glued to the torn
// one and lost with it.
Status append_line_durable(const fs::path& path, std::string_view line);

// A random decimal number below 10^9, for names that must not collide with another run's (a
// temporary file, a write probe): with the pid beside it, unique in practice.
std::string random_suffix();

Status make_directories(const fs::path& path);

// Copies a file (keeping its permission bits) or a whole directory tree into `destination`.
Status copy_tree(const fs::path& source, const fs::path& destination);

// Removes a file or a directory tree; a missing path is not an error.
Status remove_tree(const fs::path& path);

// Creates `path` exclusively with `content`, fsynced unless `durable` is false: the content goes
// into a temporary file beside it, which link(2) names `path`, so `path` appears complete or not
// at all (never empty or partly written). Returns a `refused` error when the file already exists.
// The directory's file system must support hard links (every local one, NFS, tmpfs do).
Status create_exclusive(const fs::path& path, std::string_view content, bool durable = true);

// An exclusive advisory lock (flock) on a file, held until destruction (closing the
// descriptor releases it). It serialises read-modify-write cycles between processes on one host.
// The lock is always on the file that is at `path` when the call returns: a lock file renamed
// or removed while waiting for it (its directory deleted) is not taken for the one there now.
class FileLock {
 public:
  // How long acquire waits for another holder by default. The files locked this way guard one
  // read and one write; a holder that keeps one longer is stuck or stopped (SIGSTOP, Ctrl-Z).
  static constexpr std::chrono::milliseconds kPatience{10000};
  // Waits while another holder has the lock, for at most `patience`, so no command hangs on a
  // stopped holder: then `unavailable` with ErrorCode::guard_busy, naming the file and the holder
  // (its pid and name, and whether it is stopped, as this host's /proc tells).
  static Result<FileLock> acquire(const fs::path& path, std::chrono::milliseconds patience = kPatience);
  // Nothing when another holder has the lock now.
  static Result<std::optional<FileLock>> try_acquire(const fs::path& path);

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// The pid of a process holding a flock on the file at `path`, as this host's /proc/locks lists
// it; nothing when none is listed (a holder on another host of a shared file system, or /proc
// unreadable) or the file is not there.
std::optional<long> flock_holder(const fs::path& path);

// `path` made absolute against `base` when it is relative.
fs::path resolve_against(const fs::path& base, const fs::path& path);

}  // namespace phoenix::util
