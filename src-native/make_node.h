// Creating one device node: the init's nodes (OCI linux.devices), the join helper and
// the in-process join all do it this one way. Raw syscalls only, because the
// in-process join child shares Node's memory (see clone_exec.h).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "plan.h"

namespace nsbox {

// mknodat, then the owner the plan asks for. With `same_is_fine`, a node already
// there with the same type and numbers counts as made (idempotent callers). Returns
// nullptr, or the name of the call that failed with errno set.
inline const char* MakeNodeAt(int dirfd, const char* name, const NodePlan& n, bool same_is_fine) {
  mode_t type = n.type == 'b' ? S_IFBLK : S_IFCHR;
  dev_t dev = makedev(n.major, n.minor);
  struct stat st;
  if (syscall(SYS_mknodat, dirfd, name, type | (n.mode & 07777), dev) < 0) {
    int e = errno;
    bool same = same_is_fine && e == EEXIST && syscall(SYS_newfstatat, dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                (st.st_mode & S_IFMT) == type && st.st_rdev == dev;
    errno = e;
    if (!same) return "mknodat";
  }
  if (syscall(SYS_newfstatat, dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return "fstatat";
  if ((st.st_uid != n.uid || st.st_gid != n.gid) &&
      syscall(SYS_fchownat, dirfd, name, n.uid, n.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return "fchownat";
  return nullptr;
}

}  // namespace nsbox
