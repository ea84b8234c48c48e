// Parent side of container creation and start; runs on a libuv worker thread.
#pragma once

#include <memory>
#include <string>

#include "device_backend.h"
#include "plan.h"
#include "setup_error.h"

namespace nsbox {

// A launched helper: its pid, its pidfd and our end of its report socket.
struct Helper {
  int pid = -1;
  int pidfd = -1;
  int sync = -1;
};

struct Spawned : Helper {         // sync: the handshake socket, kept until start
  int stdio[3] = {-1, -1, -1};    // parent ends of the pipes (stdio 'pipe')
  int cgroup_v2_dir = -1;         // for live device updates, joins and execs
  std::unique_ptr<DeviceBackend> devices;
};

// Creates cgroups, clones the init, waits for its kReady (or kHooks), applies the device rules.
// On failure nothing is left: the child is killed and reaped, cgroups removed, fds
// closed. Fills in the fd fields of `plan` (closed again before it returns).
bool Spawn(ChildPlan& plan, Spawned* out, SetupError* err);

// The init of a plan with hooks_pause waits before pivot_root once Spawn returned
// (handshake.h: kHooks): this lets it go on and waits for its kReady.
bool Resume(int sync, SetupError* err);

// Sends the start message and waits until execve succeeded (EOF) or a step after
// start (credentials, exec) failed (a Report). A detached init is not waited for: it
// execs when its start FIFO gets a byte.
// A notifying filter's listener socket, and what goes with the fd (handshake.h).
struct Listener {
  std::string path, head, tail;
  int pid = -1;  // the process whose filter it is
};
bool Start(int sync, const CapabilitySets& caps, const std::vector<uint32_t>& seccomp, uint32_t seccomp_flags, bool detached,
           const Listener& listener, SetupError* err);

// Where a join helper goes: the container's init (for its mount namespace) and, for
// nodes made as the container would, its cgroups.
struct JoinTarget {
  int pidfd = -1;
  int cgroup_v2_fd = -1;
  std::string v1_dir;  // the v1 devices cgroup, "" on the v2 backend
  std::vector<std::string> v1_dirs;  // every v1 directory of the container (exec joins them all)
};

// Makes one node inside a created or running container (init/join.cc); waits for the
// helper's report and reaps it.
bool Join(JoinPlan plan, const JoinTarget& target, SetupError* err);

struct ExecResult {
  int pid = -1;         // the command's host pid
  int helper_pid = -1;  // the helper, which waits for the command unless detached
  int pidfd = -1;       // the helper's pidfd (not detached); -1 once reaped
  int stdio[3] = {-1, -1, -1};  // our ends of the command's pipes (stdio 'pipe')
};

// Runs a process inside a running container (init/exec.cc): waits for the helper's
// report of the command's pid. Detached, the helper is reaped here; otherwise it
// stays, waiting for the command, and ends the way it ends. Fills in the fd fields of
// `plan` (closed again before it returns).
bool ExecIn(ExecPlan& plan, const JoinTarget& target, ExecResult* out, SetupError* err);

// Waits for a helper that ends on its own, or kills it first, and closes what we hold
// of it (its pidfd and report socket).
void Reap(Helper* h, bool kill_first);

// Kills and reaps a spawned init and closes every fd `s` holds (its cgroups stay).
void DiscardSpawned(Spawned* s);

}  // namespace nsbox
