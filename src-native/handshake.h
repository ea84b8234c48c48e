// The parent/child handshake, spoken over one SOCK_SEQPACKET socketpair.
//
//   child  -> parent  Report{kReady}        setup finished: namespaces, cgroups joined,
//                                           root pivoted, /dev and /proc built, fds
//                                           closed, cwd entered.
//   child  -> parent  Report{kError, ...}   a setup step failed; the child exits 127.
//   parent -> child   StartMessage          start: set these capability sets (they may
//                                           have changed since create), exec the command.
//   parent closes     (EOF)                 the creator is gone or destroyed the
//                                           container before start: the child exits.
//   child  -> parent  EOF                   execve succeeded (the socket is close-on-exec).
//   child  -> parent  Report{kError,"exec"} execve failed.
//
// The device rules are applied by the parent between kReady and the container's
// `created` state, so setup itself (mknod of /dev/null & co.) never depends on them.
// Credentials and capabilities are set after the start message, right before exec.
//
// A container that outlives its creator (ChildPlan::exec_fifo) gets its start message
// right after kReady, from its creator; it then waits for a byte on the FIFO, written
// by whichever process starts it (the creator may be long gone). Failures from then
// on go to the container's stderr, since nobody reads the socket any more.
//
// The join helper (mknodInside, device passthrough) speaks a shorter dialect on its
// own socketpair: it sends one Report, kReady for success or kError, and exits. The
// exec helper does the same, with the started process's pid in kReady.
#pragma once

#include <cstdint>

namespace nsbox {

struct Report {
  enum Kind : int32_t { kReady = 1, kError = 2 } kind;
  int32_t err;        // errno of the failed call
  char step[48];      // setup step, e.g. "mount-proc"
  char syscall[24];   // the call that failed, e.g. "fsmount"
  char detail[512];   // the path or rule involved
  int32_t pid;        // exec helper, kReady: the host pid of the process it started
};

struct StartMessage {
  char magic = 'S';
  uint64_t caps[5] = {0, 0, 0, 0, 0};  // bounding, effective, permitted, inheritable, ambient
};

}  // namespace nsbox
