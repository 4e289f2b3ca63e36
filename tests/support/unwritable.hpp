#pragma once
// A file or directory that refuses writes for the life of a scope, without a mount: as root
// (which ignores permission bits) it is made immutable (chattr +i, EPERM on every change);
// otherwise its write permission bits are removed (EACCES). Both are undone when the scope ends,
// on the file itself wherever it was moved meanwhile (a directory renamed by a delete).

#include <filesystem>

#include "shared/util/unique_fd.hpp"

namespace phoenix::testing {

class Unwritable {
 public:
  explicit Unwritable(std::filesystem::path path);
  ~Unwritable();
  Unwritable(const Unwritable&) = delete;
  Unwritable& operator=(const Unwritable&) = delete;

  // Whether the path refuses writes now (false when the file system cannot mark it immutable).
  bool active() const { return active_; }
  void release();

 private:
  std::filesystem::path path_;
  util::UniqueFd fd_;  // the file, open for as long as the scope, so a rename does not lose it
  bool immutable_ = false;
  bool active_ = false;
  std::filesystem::perms permissions_{};
};

}  // namespace phoenix::testing
