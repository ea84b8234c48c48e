// The container's init between clone and the user's command.
//
// This is the nsbox-init helper: a small static program the addon embeds, writes
// once into a sealed memfd and execs in the freshly cloned child (see spawn.cc), so
// no code runs between clone and exec in a copy of the multithreaded Node process.
// Each stage either succeeds or calls Fail(), which sends a Report naming the step,
// the failing call, errno and the path or rule involved, then exits. The stages
// live in child_*.cc, one concern per file; child.cc runs them in order.
#pragma once

#include <vector>

#include "../plan.h"

namespace nsbox {

// Everything the init receives from the parent besides the plan (fd numbers on its
// command line).
struct ChildFds {
  int sync = -1;              // our end of the handshake socketpair
  int stdio[3] = {-1, -1, -1};  // sources for fds 0..2; -1 keeps the inherited one
  int cgroup_v1_procs = -1;   // devices cgroup's cgroup.procs, opened for writing
  int console = -1;           // connected console socket (terminal), or -1
  struct Joined {
    uint64_t type;  // CLONE_NEW*
    int fd;
  };
  std::vector<Joined> join_namespaces;  // entered before anything else
};

[[noreturn]] void RunChild(const ChildPlan& plan, const ChildFds& fds);

// The join mode (join.cc): one node inside an existing container, then a Report.
void RunJoin(const JoinPlan& plan, int target_pidfd, int v1_procs);

// The exec mode (exec.cc): one process inside an existing container; `stdio` are the
// sources of its fds 0..2 (-1: the helper's own, for 'inherit').
[[noreturn]] void RunExec(const ExecPlan& plan, int target_pidfd, int v1_procs, int console, const int stdio[3]);

// Shared by the init and the exec helper (child.cc, child_terminal.cc).
void ResetSignals();
void NewSession();
void SetRlimits(const ChildPlan& plan);
[[noreturn]] void Exec(const ChildPlan& plan);
// Allocates a pty in the container's /dev/pts, sends the master over `console`,
// makes the slave the controlling terminal and fds 0..2; with `bind_console` the
// slave is also bound onto /dev/console.
void SetupTerminal(int console, bool bind_console);

// Sends Report{kReady}.
void ReportSuccess(int pid = 0);

// Where Fail() sends its Report (the handshake socket).
void SetReportFd(int fd);
int ReportFd();

// Closes every fd but 0, 1, 2 and those in `keep` (-1 entries are ignored): nothing of
// the creator's fd table (leaked non-close-on-exec fds) survives to the next step.
void CloseOtherFds(std::vector<int> keep);

// Reports the failure of `step` (errno is read here) and exits.
[[noreturn]] void Fail(const char* step, const char* call, const char* detail = "",
                       const char* detail2 = "");

// Stages (child_mounts.cc, child_creds.cc).
void SetupMountNamespace(const ChildPlan& plan);  // rootfs, /dev, /proc, /sys, mounts, pivot_root
void SetupNetwork(const ChildPlan& plan);         // hostname, loopback
void SetupCredentials(const ChildPlan& plan, const CapabilitySets& caps);  // groups, uid/gid, capabilities, no_new_privs
void CreateNodes(const ChildPlan& plan, int root);  // OCI linux.devices, inside the rootfs

// Small string helper usable in the child: copies a then b into dst, NUL-terminated.
void CopyJoined(char* dst, size_t cap, const char* a, const char* b = "");

}  // namespace nsbox
