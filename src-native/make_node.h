// Creating one device node: the init's nodes (OCI linux.devices), the join helper and
// the in-process join all do it this one way. Raw syscalls only, because the
// in-process join child shares Node's memory (see clone_exec.h).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "plan.h"
#include "sys.h"

namespace nsbox {

// mknodat, then the owner the plan asks for. With `same_is_fine`, a node already
// there with the same type and numbers counts as made (idempotent callers). Returns
// nullptr, or the name of the call that failed with errno set.
inline const char* MakeNodeAt(int dirfd, const char* name, const NodePlan& n, bool same_is_fine) {
  mode_t type = n.type == kBlockDev ? S_IFBLK : n.type == kFifo ? S_IFIFO : S_IFCHR;
  dev_t dev = n.type == kFifo ? 0 : makedev(n.major, n.minor);
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

// The node at n.path of a joined container, every component of its directory resolved
// inside the caller's root (the container's, after setns), with umask 0. No allocation
// (the in-process join). Returns nullptr, or the failed call with errno set and
// `*in_dir` telling whether it was about the directory (else the node).
inline const char* MakeNodeInRoot(const NodePlan& n, bool same_is_fine, bool* in_dir) {
  char dir[4096];
  size_t len = n.path.size();
  *in_dir = true;
  if (len >= sizeof(dir)) return errno = ENAMETOOLONG, "openat2";
  memcpy(dir, n.path.c_str(), len + 1);
  char* slash = strrchr(dir, '/');
  if (!slash) return errno = EINVAL, "openat2";
  const char* name = n.path.c_str() + (slash - dir) + 1;
  if (slash == dir) slash++;  // the node is in "/"
  *slash = '\0';
  syscall(SYS_umask, 0);
  int dirfd = sys::openat2(AT_FDCWD, dir, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (dirfd < 0) return "openat2";
  *in_dir = false;
  const char* call = MakeNodeAt(dirfd, name, n, same_is_fine);
  int e = errno;
  syscall(SYS_close, dirfd);
  errno = e;
  return call;
}

// The directory MakeNodeInRoot resolves, for its error messages.
inline std::string NodeDir(const std::string& path) { return path.substr(0, std::max<size_t>(path.rfind('/'), 1)); }

}  // namespace nsbox
