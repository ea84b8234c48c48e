// The container's init between clone and exec.
//
// Runs in the cloned child (see sys.h for why only raw syscalls are used here).
// Each stage either succeeds or calls Fail(), which sends a Report naming the step,
// the failing call, errno and the path or rule involved, then exits. The stages
// live in child_*.cc, one concern per file; child.cc runs them in order.
#pragma once

#include "plan.h"

namespace nsbox {

// Everything the child receives from the parent besides the plan.
struct ChildFds {
  int sync = -1;              // our end of the handshake socketpair
  int stdio[3] = {-1, -1, -1};  // sources for fds 0..2; -1 keeps the inherited one
  int cgroup_v1_procs = -1;   // devices cgroup's cgroup.procs, opened for writing
};

// Prepared char* arrays for execve, built before clone.
struct ExecArgs {
  std::vector<char*> argv;
  std::vector<char*> envp;
};

[[noreturn]] void RunChild(const ChildPlan& plan, const ChildFds& fds, const ExecArgs& exec);

// Reports the failure of `step` (errno is read here) and exits.
[[noreturn]] void Fail(const char* step, const char* call, const char* detail = "",
                       const char* detail2 = "");

// Stages (child_mounts.cc, child_creds.cc).
void SetupMountNamespace(const ChildPlan& plan);  // rootfs, /dev, /proc, /sys, mounts, pivot_root
void SetupNetwork(const ChildPlan& plan);         // hostname, loopback
void SetupCredentials(const ChildPlan& plan);     // groups, uid/gid, capabilities, no_new_privs

// Small string helper usable in the child: copies a then b into dst, NUL-terminated.
void CopyJoined(char* dst, size_t cap, const char* a, const char* b = "");

}  // namespace nsbox
