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

#include "../handshake.h"
#include "../plan.h"

namespace nsbox {

[[noreturn]] void RunChild(const ChildPlan& plan);

// The join mode (join.cc): one node inside an existing container, then a Report.
void RunJoin(const JoinPlan& plan);

// The exec mode (exec.cc): one process inside an existing container.
[[noreturn]] void RunExec(const ExecPlan& plan);

// Shared by the init and the exec helper (child.cc, child_terminal.cc).
void ResetSignals();
// The plan's stdio sources onto fds 0..2 (-1 keeps the inherited one), the sources closed.
void SetupStdio(const PassedFds& fds);
void NewSession();
void SetRlimits(const ChildPlan& plan);
[[noreturn]] void Exec(const ChildPlan& plan);
// Allocates a pty in the container's /dev/pts, sends the master over `console`,
// makes the slave the controlling terminal and fds 0..2; with `bind_console` the
// slave is also bound onto /dev/console.
void SetupTerminal(int console, bool bind_console);

// Sends Report{kReady}.
void ReportSuccess(int pid = 0);
// Sends `r` with `fd` attached (SCM_RIGHTS).
void SendReportWithFd(const Report& r, int fd);
// Receives one Report and the fd attached to it, if any (-1 otherwise). Returns what
// recvmsg returned.
ssize_t RecvReport(int sock, Report* r, int* fd);
// Reports kHooks and waits for the parent's ResumeMessage (handshake.h); exits when
// the parent closes the socket instead.
void AwaitHooks();

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
// A compiled syscall filter: two words per classic BPF instruction (plan.h); none when n is 0.
struct SeccompProgram {
  const uint32_t* words = nullptr;
  size_t n = 0;
  uint32_t flags = 0;
};
// Installs the filter; a notifying one's listener fd is sent on (handshake.h: kListener).
void InstallSeccomp(const SeccompProgram& sc);
void SetupCredentials(const ChildPlan& plan, const CapabilitySets& caps, const SeccompProgram& sc);  // bounding set, credentials, ambient, no_new_privs
void SeccompBeforeExec(const ChildPlan& plan, const SeccompProgram& sc);  // the filter, last, when no_new_privs lets it in without CAP_SYS_ADMIN
// The ids and capability sets of a container process (the init, an exec'd command, a
// join); the steps name a failure of either.
void SetCredentials(uint32_t uid, uint32_t gid, const std::vector<uint32_t>& groups, const CapabilitySets& caps,
                    const char* ids_step, const char* caps_step);
void CreateNodes(const ChildPlan& plan, int root);  // OCI linux.devices, inside the rootfs

// Small string helper usable in the child: copies a then b into dst, NUL-terminated.
void CopyJoined(char* dst, size_t cap, const char* a, const char* b = "");

}  // namespace nsbox
