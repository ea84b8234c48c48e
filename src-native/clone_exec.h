// Starting the init helper: a vfork-style clone3 straight into execveat.
//
// clone3(CLONE_VM | CLONE_VFORK) shares Node's memory instead of copying its page
// tables, and suspends only the calling worker thread until the child has exec'd;
// the child runs on its own small stack and does nothing but clear close-on-exec on
// the fds it passes and execveat the helper. The helper image lives in a sealed
// memfd, so there is no file on disk a container could overwrite through
// /proc/<pid>/exe.
#pragma once

#include <linux/sched.h>

#include "setup_error.h"

namespace nsbox {

// The sealed memfd holding nsbox-init; created on first use, kept for the process.
int HelperFd(SetupError* err);

struct HelperLaunch {
  int helper_fd = -1;
  char* const* argv = nullptr;  // argv of the helper, nullptr-terminated
  const int* pass_fds = nullptr;  // fds the helper inherits (close-on-exec cleared in the child only)
  int npass = 0;
  int exec_errno = 0;             // set by the child when execveat fails
  // A child in a new user namespace: before it execs, it waits for one byte 'M' on this
  // fd (the parent wrote its uid and gid maps) and becomes the namespace's root, so that
  // nsbox-init starts with the namespace's capabilities (an exec while unmapped would
  // drop them all). Such a child is a copy of Node's memory, not a sharer of it: the
  // parent must go on to write the maps while the child waits (no CLONE_VFORK), and
  // exec_errno is then not seen (the helper's report socket closing says it instead).
  int await_maps_fd = -1;
  // With await_maps_fd: a directory the child enters first, while it is still the host's
  // root and may search every directory on the way (the rootfs, which the init then
  // opens as "."; runc's init starts in it for the same reason).
  const char* chdir_first = nullptr;
};

// Returns the child's pid (pidfd and cgroup as in `args`), or -1 with errno. When the
// child could not exec the helper, launch->exec_errno says why; it has exited then.
long CloneExec(struct clone_args* args, HelperLaunch* launch);

// The same vfork-style clone, but the child runs fn(arg) and exits instead of exec'ing.
// fn shares Node's memory while this thread waits: it may only make raw syscalls,
// write to what arg points to, and must not change credentials (that would change
// the shared memory's dumpable flag for Node too).
long CloneRun(struct clone_args* args, int (*fn)(void*), void* arg);

}  // namespace nsbox
