// The join helper: makes one device node inside an existing container.
//
// It enters the container's mount namespace (setns on the init's pidfd: root and
// cwd become the container's root), optionally its v1 devices cgroup and its
// credentials, then creates the node with every path component resolved inside that
// root. It is not dumpable and not in the container's pid namespace, so nothing in
// the container can see or ptrace it.
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <linux/capability.h>

#include <cstring>

#include "../make_node.h"
#include "../sys.h"
#include "child.h"

namespace nsbox {

void RunJoin(const JoinPlan& j) {
  const PassedFds& fds = j.fds;
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) Fail("join", "prctl(PR_SET_DUMPABLE)");
  if (setns(fds.target_pidfd, CLONE_NEWNS) < 0) Fail("join", "setns", "mount namespace");
  close(fds.target_pidfd);
  if (fds.v1_procs >= 0) {
    if (write(fds.v1_procs, "0", 1) < 0) Fail("join", "write", "devices cgroup.procs");
    close(fds.v1_procs);
  }
  if (j.as_container) {
    CapabilitySets caps;
    caps.effective = caps.permitted = j.caps;
    SetCredentials(j.uid, j.gid, j.groups, caps, "join-credentials", "join-credentials");
  }
  bool in_dir;
  // The runtime's passthrough is idempotent; mknodInside reports EEXIST like mknod(2).
  if (const char* call = MakeNodeInRoot(j.node, !j.as_container, &in_dir)) {
    Fail("mknod", call, in_dir ? NodeDir(j.node.path).c_str() : j.node.path.c_str());
  }
  ReportSuccess();
}

}  // namespace nsbox
