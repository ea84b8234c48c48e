// System call wrappers for the calls glibc 2.36 lacks (clone3, openat2, the new
// mount API, close_range, pidfd_send_signal) and for the credential calls, which
// glibc broadcasts to "all threads" of the process: the init helper goes through
// syscall() so that it changes exactly its own credentials, nothing more.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace nsbox::sys {

inline long clone3(struct clone_args* args) {
  return syscall(SYS_clone3, args, sizeof(*args));
}
inline int pidfd_open(int pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }
inline int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}
// With RESOLVE_IN_ROOT or RESOLVE_BENEATH the kernel answers EAGAIN when a mount or
// rename anywhere raced a walk through ".." (other containers being set up do that);
// it asks callers to try again.
inline int openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = resolve;
  long fd;
  int attempts = 0;
  do {
    fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR) && ++attempts < 1000);
  return static_cast<int>(fd);
}
inline int mount(const char* src, const char* dst, const char* type, unsigned long flags,
                 const void* data) {
  return static_cast<int>(syscall(SYS_mount, src, dst, type, flags, data));
}
inline int umount2(const char* target, int flags) {
  return static_cast<int>(syscall(SYS_umount2, target, flags));
}
inline int pivot_root(const char* new_root, const char* put_old) {
  return static_cast<int>(syscall(SYS_pivot_root, new_root, put_old));
}
inline int fsopen(const char* fstype) {
  return static_cast<int>(syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC));
}
inline int fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return static_cast<int>(syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
inline int fsmount(int fsfd, unsigned attrs) {
  return static_cast<int>(syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, attrs));
}
inline int open_tree(int dirfd, const char* path, unsigned flags) {
  return static_cast<int>(syscall(SYS_open_tree, dirfd, path, flags | OPEN_TREE_CLOEXEC));
}
// Attaches the detached mount `from` onto the object `to_fd` refers to: no path is
// resolved again, so nothing can be swapped under us between check and mount.
inline int move_mount_fd(int from, int to_fd) {
  return static_cast<int>(syscall(SYS_move_mount, from, "", to_fd, "",
                                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
}
inline int mount_setattr(int dirfd, const char* path, unsigned flags, uint64_t set,
                         uint64_t clr, uint64_t propagation = 0) {
  struct mount_attr attr = {};
  attr.attr_set = set;
  attr.attr_clr = clr;
  attr.propagation = propagation;
  return static_cast<int>(syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof(attr)));
}
inline int close_range(unsigned first, unsigned last, unsigned flags) {
  return static_cast<int>(syscall(SYS_close_range, first, last, flags));
}
inline int setresuid(uid_t r, uid_t e, uid_t s) {
  return static_cast<int>(syscall(SYS_setresuid, r, e, s));
}
inline int setresgid(gid_t r, gid_t e, gid_t s) {
  return static_cast<int>(syscall(SYS_setresgid, r, e, s));
}
inline int setgroups(size_t n, const gid_t* groups) {
  return static_cast<int>(syscall(SYS_setgroups, n, groups));
}
inline int bpf(int cmd, void* attr, unsigned size) {
  return static_cast<int>(syscall(SYS_bpf, cmd, attr, size));
}

// Retries a call interrupted by a signal.
template <typename F>
inline auto retry_eintr(F f) -> decltype(f()) {
  decltype(f()) r;
  do {
    r = f();
  } while (r < 0 && errno == EINTR);
  return r;
}

}  // namespace nsbox::sys
