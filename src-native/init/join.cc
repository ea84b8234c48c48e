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
#include <sys/sysmacros.h>
#include <linux/capability.h>

#include <cstring>

#include "../make_node.h"
#include "../sys.h"
#include "child.h"

namespace nsbox {

// A container with a user namespace: the host's node, cloned while this helper still
// sees the host's /dev and checked to be the device the plan names, bound at the node's
// path as the namespace's root (its tmpfs takes only ids the namespace maps).
[[noreturn]] void BindHostNode(const JoinPlan& j) {
  const char* failed = "";
  int tree = OpenHostNode(j.bind_host.c_str(), j.node, &failed);
  if (tree < 0) Fail("bind-node", failed, j.bind_host.c_str(), errno == EINVAL ? ": not the device the rule names" : "");
  if (setns(j.fds.target_pidfd, CLONE_NEWUSER | CLONE_NEWNS) < 0) Fail("join", "setns", "user and mount namespaces");
  close(j.fds.target_pidfd);
  // The namespace's root (setns gave its capabilities, not its ids).
  if (syscall(SYS_setresgid, 0, 0, 0) < 0 || sys::setresuid(0, 0, 0) < 0) Fail("bind-node", "setresuid", "the container's root");
  bool in_dir;
  if (const char* call = BindNodeInRoot(tree, j.node, &in_dir)) Fail("bind-node", call, in_dir ? NodeDir(j.node.path).c_str() : j.node.path.c_str());
  close(tree);
  ReportSuccess();
  _exit(0);
}

void RunJoin(const JoinPlan& j) {
  const PassedFds& fds = j.fds;
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) Fail("join", "prctl(PR_SET_DUMPABLE)");
  if (!j.bind_host.empty()) BindHostNode(j);
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
