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

// The directory of `path` inside the caller's root (every component resolved there,
// no magic links), and in `name` the last component; -1 with errno when it fails.
// No allocation (the in-process join).
inline int OpenNodeDirInRoot(const std::string& path, const char** name) {
  char dir[4096];
  size_t len = path.size();
  if (len >= sizeof(dir)) return errno = ENAMETOOLONG, -1;
  memcpy(dir, path.c_str(), len + 1);
  char* slash = strrchr(dir, '/');
  if (!slash) return errno = EINVAL, -1;
  *name = path.c_str() + (slash - dir) + 1;
  if (slash == dir) slash++;  // the node is in "/"
  *slash = '\0';
  return sys::openat2(AT_FDCWD, dir, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

// A user namespace's nodes are the host's, bound: nobody can make one there. The host's
// node at `host` as a detached mount, checked to be the device `n` names (without
// following a symlink); -1 with errno and `*call` when it is not there or not that.
inline int OpenHostNode(const char* host, const NodePlan& n, const char** call) {
  int tree = sys::open_tree(AT_FDCWD, host, OPEN_TREE_CLONE | AT_SYMLINK_NOFOLLOW);
  if (tree < 0) return *call = "open_tree", -1;
  struct stat st;
  mode_t type = n.type == kBlockDev ? S_IFBLK : S_IFCHR;
  const char* failed = syscall(SYS_fstat, tree, &st) < 0 ? "fstat"
                       : (st.st_mode & S_IFMT) != type || st.st_rdev != makedev(n.major, n.minor) ? (errno = EINVAL, "verify-node") : nullptr;
  if (!failed) return tree;
  int e = errno;
  syscall(SYS_close, tree);
  errno = e;
  return *call = failed, -1;
}

// Binds `tree` (OpenHostNode's) at `name` in `dirfd`, on an empty file made there (one
// already there is used). With `same_is_bound`, the same device already there counts
// as bound (idempotent callers). Returns nullptr, or the failed call with errno set.
// Raw syscalls only, as above.
inline const char* BindNodeAt(int tree, int dirfd, const char* name, const NodePlan& n, bool same_is_bound) {
  struct stat st;
  if (syscall(SYS_mknodat, dirfd, name, S_IFREG | 0600, 0) < 0) {
    int e = errno;
    bool there = e == EEXIST && syscall(SYS_newfstatat, dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
    bool same = there && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && st.st_rdev == makedev(n.major, n.minor);
    if (same && same_is_bound) return nullptr;
    errno = e;
    if (!there || !(S_ISREG(st.st_mode) || same)) return "mknodat";
  }
  if (syscall(SYS_move_mount, tree, "", dirfd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0) return "move_mount";
  return nullptr;
}

// The same at n.path of a joined container, its directory resolved inside the
// caller's root as MakeNodeInRoot resolves it.
inline const char* BindNodeInRoot(int tree, const NodePlan& n, bool* in_dir) {
  const char* name = nullptr;
  *in_dir = true;
  int dirfd = OpenNodeDirInRoot(n.path, &name);
  if (dirfd < 0) return "openat2";
  *in_dir = false;
  const char* call = BindNodeAt(tree, dirfd, name, n, true);
  int e = errno;
  syscall(SYS_close, dirfd);
  errno = e;
  return call;
}

// The node at n.path of a joined container, every component of its directory resolved
// inside the caller's root (the container's, after setns), with umask 0. No allocation
// (the in-process join). Returns nullptr, or the failed call with errno set and
// `*in_dir` telling whether it was about the directory (else the node).
inline const char* MakeNodeInRoot(const NodePlan& n, bool same_is_fine, bool* in_dir) {
  const char* name = nullptr;
  *in_dir = true;
  syscall(SYS_umask, 0);
  int dirfd = OpenNodeDirInRoot(n.path, &name);
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
