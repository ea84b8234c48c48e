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
namespace {

void BecomeContainerUser(const JoinPlan& j) {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) Fail("join-credentials", "prctl(PR_SET_KEEPCAPS)");
  if (sys::setgroups(j.groups.size(), j.groups.empty() ? nullptr : j.groups.data()) < 0)
    Fail("join-credentials", "setgroups");
  if (sys::setresgid(j.gid, j.gid, j.gid) < 0) Fail("join-credentials", "setresgid");
  if (sys::setresuid(j.uid, j.uid, j.uid) < 0) Fail("join-credentials", "setresuid");
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof(data));
  for (int i = 0; i < 2; i++) data[i].effective = data[i].permitted = static_cast<uint32_t>(j.caps >> (32 * i));
  if (syscall(SYS_capset, &hdr, data) < 0) Fail("join-credentials", "capset");
}

}  // namespace

void RunJoin(const JoinPlan& j, int target_pidfd, int v1_procs) {
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) Fail("join", "prctl(PR_SET_DUMPABLE)");
  if (setns(target_pidfd, CLONE_NEWNS) < 0) Fail("join", "setns", "mount namespace");
  close(target_pidfd);
  if (v1_procs >= 0) {
    if (write(v1_procs, "0", 1) < 0) Fail("join", "write", "devices cgroup.procs");
    close(v1_procs);
  }
  if (j.as_container) BecomeContainerUser(j);
  syscall(SYS_umask, 0);

  const std::string& path = j.node.path;
  size_t slash = path.rfind('/');
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string name = path.substr(slash + 1);
  int dirfd = sys::openat2(AT_FDCWD, dir.c_str(), O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (dirfd < 0) Fail("mknod", "openat2", dir.c_str());
  // The runtime's passthrough is idempotent; mknodInside reports EEXIST like mknod(2).
  if (const char* call = MakeNodeAt(dirfd, name.c_str(), j.node, !j.as_container)) Fail("mknod", call, path.c_str());
  ReportSuccess();
}

}  // namespace nsbox
