#include "support/unwritable.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/util/unique_fd.hpp"

namespace phoenix::testing {

namespace {

// Sets or clears FS_IMMUTABLE_FL (what chattr +i / -i do); false when that is not possible.
bool set_immutable(int fd, bool on) {
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return false;
  flags = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
  return ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
}

constexpr auto kWrite =
    std::filesystem::perms::owner_write | std::filesystem::perms::group_write | std::filesystem::perms::others_write;

}  // namespace

Unwritable::Unwritable(std::filesystem::path path)
    : path_(std::move(path)), fd_(::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)) {
  if (!fd_) return;
  if (::geteuid() == 0) {
    immutable_ = set_immutable(fd_.get(), true);
    active_ = immutable_;
    return;
  }
  permissions_ = std::filesystem::status(path_).permissions();
  active_ = ::fchmod(fd_.get(), static_cast<mode_t>(permissions_ & ~kWrite)) == 0;
}

Unwritable::~Unwritable() { release(); }

void Unwritable::release() {
  if (!active_) return;
  active_ = false;
  if (immutable_) {
    set_immutable(fd_.get(), false);
    return;
  }
  ::fchmod(fd_.get(), static_cast<mode_t>(permissions_));
}

}  // namespace phoenix::testing
