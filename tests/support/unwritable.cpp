#include "support/unwritable.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "shared/util/unique_fd.hpp"

namespace phoenix::testing {

namespace {

// Sets or clears FS_IMMUTABLE_FL (what chattr +i / -i do); false when that is not possible.
bool set_immutable(const std::filesystem::path& path, bool on) {
  const util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return false;
  int flags = 0;
  if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) return false;
  flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
  return ::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) == 0;
}

}  // namespace

Unwritable::Unwritable(std::filesystem::path path) : path_(std::move(path)) {
  if (::geteuid() == 0) {
    immutable_ = set_immutable(path_, true);
    active_ = immutable_;
    return;
  }
  permissions_ = std::filesystem::status(path_).permissions();
  std::error_code ec;
  std::filesystem::permissions(
      path_,
      std::filesystem::perms::owner_write | std::filesystem::perms::group_write | std::filesystem::perms::others_write,
      std::filesystem::perm_options::remove, ec);
  active_ = !ec;
}

Unwritable::~Unwritable() { release(); }

void Unwritable::release() {
  if (!active_) return;
  active_ = false;
  if (immutable_) {
    set_immutable(path_, false);
    return;
  }
  std::error_code ec;
  std::filesystem::permissions(path_, permissions_, std::filesystem::perm_options::replace, ec);
}

}  // namespace phoenix::testing
