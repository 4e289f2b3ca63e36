#pragma once
// Whether a directory accepts new files now, asked before anything is changed (an option's
// output file, the state directory) so a command refuses up front instead of failing half-way.

#include <filesystem>
#include <string>

#include "shared/util/result.hpp"

namespace phoenix::util {

// What stands in the way of writing a file in a directory.
enum class WriteObstacle {
  none,
  missing,        // the directory does not exist (or a parent of it is not a directory)
  not_directory,  // the path is a file, a device, ...
  not_writable,   // a read-only file system, no permission (EROFS, EACCES, EPERM)
  full,           // no space or no inode left, or a quota reached (ENOSPC, EDQUOT)
  other,          // any other error of the file system
};

struct WriteProbe {
  WriteObstacle obstacle = WriteObstacle::none;
  std::string reason;  // strerror's words for the obstacle; empty when there is none
};

// Creates a probe file with one byte in it in `directory` and removes it (one byte: a full file
// system may still create an empty file). The probe's name never reaches the caller.
WriteProbe probe_writable_directory(const std::filesystem::path& directory);

// The same question asked without creating anything (a dry run's): whether this process may
// create a file in `directory` (faccessat with the effective ids: a read-only file system, no
// permission, an immutable directory) and whether its file system has a free block and inode.
// A quota or a file system that fails only on write is not seen; the probe above sees those.
WriteProbe check_writable_without_writing(const std::filesystem::path& directory);

// `path` when it exists, else the nearest of its ancestors that exists: the directory to probe
// for a file or directory that is made with its missing parents. A relative path climbs to "."
// at most; an empty one is ".". What exists may be a file: the probe then says so.
std::filesystem::path nearest_existing_directory(const std::filesystem::path& path);

}  // namespace phoenix::util
