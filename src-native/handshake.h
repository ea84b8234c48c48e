// The handshake between the parent and a helper (the one place it is written down),
// spoken over one SOCK_SEQPACKET socketpair per helper: the helper's end is SYNC of
// its fd contract (init/main.cc). The parent's side is spawn.cc (RunHelper for the
// first report of every helper, Start for the init's start), the helper's child.cc
// (Fail, ReportSuccess, AwaitStart).
//
// The container's init:
//   init   -> parent  Report{kReady}        setup finished: namespaces, cgroups joined,
//                                           root pivoted, /dev and /proc built, fds
//                                           closed, cwd entered.
//   init   -> parent  Report{kError, ...}   a setup step failed; the init exits 127.
//
// With ChildPlan::hooks_pause (the container has prestart, createRuntime or
// createContainer hooks), kReady is preceded by a pause before pivot_root:
//   init   -> parent  Report{kHooks}        mounts made and nodes created, the rootfs
//                                           attached at its own path in the init's mount
//                                           namespace; waiting. The parent applies the
//                                           device rules (as at kReady) and runs the hooks.
//   parent -> init    ResumeMessage         go on: masks, read-only paths, pivot_root, ...
//                                           then kReady (or kError) as above.
//   parent closes     (EOF)                 a hook failed, or the creator is gone: the init exits.
//   parent -> init    StartMessage          start: set these capability sets (they may
//                                           have changed since create), install this
//                                           syscall filter (built for those sets; it
//                                           follows the header in the same message),
//                                           exec the command.
//   parent closes     (EOF)                 the creator is gone or destroyed the
//                                           container before start: the init exits.
//   init   -> parent  EOF                   execve succeeded (the socket is close-on-exec).
//   init   -> parent  Report{kError,"exec"} execve failed.
//
// A user namespace's init (ChildPlan uid_map set): right after the clone the parent
// writes its maps and sends one byte 'M'; the child, before it execs nsbox-init, reads
// it and becomes the namespace's root (clone_exec.h). With idmap_rootfs the parent then
// sends IdmapMessage with the idmapped rootfs mount's fd (SCM_RIGHTS), which the init
// takes as its root instead of cloning the rootfs itself.
//
// The device rules are applied by the parent between kReady and the container's
// `created` state, so setup itself (mknod of /dev/null & co.) never depends on them.
// Credentials and capabilities are set after the start message, right before exec.
//
// A container that outlives its creator (ChildPlan::start_fifo) gets its start message
// right after kReady, from its creator; it then waits for a byte on the FIFO, written
// by whichever process starts it (the creator may be long gone). Failures from then
// on go to the container's stderr, since nobody reads the socket any more.
//
// The join helper (mknodInside, device passthrough) and the exec helper send one
// Report, kReady for success (exec: with the started process's pid) or kError. The
// join helper then exits; the exec helper waits for the command unless detached.
// A helper that closes the socket without a report is described by how it ended.
//
// A notifying syscall filter (SECCOMP_FILTER_FLAG_NEW_LISTENER) yields a listener fd
// where it is installed: the installing process sends it on at once, as
// Report{kListener} with the fd (SCM_RIGHTS), and goes on. The init installs such a
// filter as soon as the start message arrives (even detached: its creator is still
// there then); an exec'd process where it always does, and the exec helper passes the
// report on with the process's pid. The parent hands the fd to the filter's listener
// socket with the process's OCI state and answers kListenerAck; the process waits for
// that before it goes on, and exits 127 when the socket closes instead (the listener
// could not be reached). The exec helper passes the answer on.
#pragma once

#include <cstdint>

namespace nsbox {

struct Report {
  enum Kind : int32_t { kReady = 1, kError = 2, kHooks = 3, kListener = 4 } kind;
  int32_t err;        // errno of the failed call
  char step[48];      // setup step, e.g. "mount-proc"
  char syscall[24];   // the call that failed, e.g. "fsmount"
  char detail[512];   // the path or rule involved
  int32_t pid;        // exec helper, kReady and kListener: the host pid of the process it started
};

struct StartMessage {
  char magic = 'S';
  uint64_t caps[5] = {0, 0, 0, 0, 0};  // bounding, effective, permitted, inheritable, ambient
  uint32_t seccomp_flags = 0;          // SECCOMP_FILTER_FLAG_*
  uint32_t seccomp_words = 0;          // then this many uint32 words: two per BPF instruction
};

struct IdmapMessage {
  char magic = 'I';
};

// The parent's answer to a kListener report once the listener has the fd.
constexpr char kListenerAck = 'L';

struct ResumeMessage {
  char magic = 'R';
};

// The longest filter the kernel takes (BPF_MAXINSNS), in words.
constexpr uint32_t kMaxSeccompWords = 2 * 4096;

}  // namespace nsbox
