#include "spawn.h"

#include <algorithm>
#include <csignal>
#include <type_traits>
#include <utility>
#include <fcntl.h>
#include <sched.h>
#include <cstring>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <cstdio>
#include <sys/wait.h>

#include "cgroup.h"
#include "clone_exec.h"
#include "fd_passing.h"
#include "handshake.h"
#include "low_priority.h"
#include "make_node.h"
#include "plan_codec.h"
#include "sys.h"

namespace nsbox {
namespace {

// A setup that takes longer than this is reported as hung rather than waited on forever.
constexpr int kHandshakeTimeoutMs = 30000;

// Returns an fd above 2 so the child's dup2 onto 0..2 never overwrites a source.
int AboveStdio(int fd) {
  if (fd < 0 || fd > 2) return fd;  // a failed open keeps its errno for the report
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int e = errno;
  close(fd);
  errno = e;
  return moved;
}

bool SocketPair(int* ours, int* theirs, SetupError* err) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) return err->Set("handshake", "socketpair");
  *ours = AboveStdio(pair[0]);
  *theirs = AboveStdio(pair[1]);
  return true;
}

bool MakePipe(int fds[2], SetupError* err) {
  if (pipe2(fds, O_CLOEXEC) < 0) return err->Set("stdio", "pipe2");
  fds[0] = AboveStdio(fds[0]);
  fds[1] = AboveStdio(fds[1]);
  if (fds[0] < 0 || fds[1] < 0) return err->Set("stdio", "fcntl(F_DUPFD_CLOEXEC)");
  return true;
}

// Reads one Report, waiting up to the handshake timeout. Returns 0 on a report,
// 1 on EOF, -1 on error (err filled). A kListener report comes with an fd: into
// `listener` when given (closed otherwise); any other report comes with none.
int ReadReport(int sync, Report* r, const char* step, SetupError* err, int* listener = nullptr) {
  struct pollfd p = {sync, POLLIN, 0};
  int ready = sys::retry_eintr([&] { return poll(&p, 1, kHandshakeTimeoutMs); });
  if (ready == 0) {
    err->Set(step, "poll", "no answer from the container's init", ETIMEDOUT);
    return -1;
  }
  if (ready < 0) return err->Set(step, "poll"), -1;
  int fd = -1;
  ssize_t n = RecvWithFd(sync, r, sizeof(*r), &fd);
  if (n == sizeof(*r) && r->kind == Report::kListener && fd >= 0 && listener) {
    *listener = fd;
    fd = -1;
  }
  CloseFd(&fd);
  if (n == 0) return 1;
  if (n < 0) {
    if (errno == ECONNRESET) return 1;
    return err->Set(step, "recv"), -1;
  }
  if (n != sizeof(*r)) return err->Set(step, "recv", "short handshake message", EPROTO), -1;
  r->step[sizeof(r->step) - 1] = r->syscall[sizeof(r->syscall) - 1] = r->detail[sizeof(r->detail) - 1] = 0;
  return 0;
}

bool FromReport(const Report& r, SetupError* err) {
  if (r.kind == Report::kListener) return err->Set("seccomp", "handshake", "a listener fd arrived where none was expected", EPROTO);
  return err->Set(r.step, r.syscall, r.detail, r.err);
}

// Hands a notifying filter's listener fd to the socket at `path`, with the process's
// OCI state (head, its pid, tail), as one message carrying the fd; closes the fd.
// The socket is connected without blocking: a listener that does not accept fails.
bool HandToListener(const std::string& path, const std::string& head, int pid, const std::string& tail, int* fd,
                    SetupError* err) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return CloseFd(fd), err->Set("seccomp-listener", "connect", path, ENAMETOOLONG);
  memcpy(addr.sun_path, path.c_str(), path.size());
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return CloseFd(fd), err->Set("seccomp-listener", "socket", path);
  bool ok = sys::retry_eintr([&] { return connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)); }) == 0;
  if (!ok) err->Set("seccomp-listener", "connect", path);
  std::string state = head + std::to_string(pid) + tail;
  if (ok) {
    ok = SendWithFd(s, state.data(), state.size(), *fd) == static_cast<ssize_t>(state.size());
    if (!ok) err->Set("seccomp-listener", "sendmsg", path);
  }
  close(s);
  CloseFd(fd);
  return ok;
}

// Tells a process whose listener has its fd to go on (handshake.h).
bool Ack(int sync, const char* step, SetupError* err) {
  if (sys::retry_eintr([&] { return send(sync, &kListenerAck, 1, MSG_NOSIGNAL); }) != 1)
    return err->Set(step, "send", "the process waiting for its listener is gone");
  return true;
}

// Waits for the kListener report of the init, whose filter notifies, and hands the fd
// on with `pid`, the init's.
bool AwaitListener(int sync, const std::string& path, const std::string& head, const std::string& tail, int pid,
                   const char* step, SetupError* err) {
  Report r;
  int fd = -1;
  int got = ReadReport(sync, &r, step, err, &fd);
  if (got < 0) return false;
  if (got == 1) return err->Set(step, "handshake", "the process ended before its filter's listener fd arrived", ECHILD);
  if (r.kind != Report::kListener) return FromReport(r, err);
  return HandToListener(path, head, pid, tail, &fd, err) && Ack(sync, step, err);
}

// Describes how a child that closed the handshake without a report ended.
bool ChildVanished(int pidfd, const char* step, SetupError* err) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  sys::retry_eintr([&] { return waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &si, WEXITED | __WALL); });
  std::string how = si.si_code == CLD_EXITED ? "exited with status " + std::to_string(si.si_status)
                                             : "killed by signal " + std::to_string(si.si_status);
  return err->Set(step, "handshake", "the container's init " + how + " before reporting", ECHILD);
}

// Writes `bytes` (an encoded plan) into a memfd the helper reads.
int BytesFd(const char* name, const std::string& bytes, SetupError* err) {
  int fd = AboveStdio(memfd_create(name, MFD_CLOEXEC));
  if (fd < 0) return err->Set("plan", "memfd_create"), -1;
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = sys::retry_eintr([&] { return write(fd, bytes.data() + off, bytes.size() - off); });
    if (n <= 0) {
      err->Set("plan", "write", name);
      close(fd);
      return -1;
    }
    off += static_cast<size_t>(n);
  }
  return fd;
}

template <class P>
void CloseAllPassed(P& plan) {
  ForEachPassedFd(plan, [](int& fd) { CloseFd(&fd); });
}

// An fd of ours for the helper: a plan's fds are the plan's, closed once it runs.
int DupForHelper(int fd, const char* step, SetupError* err) {
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) err->Set(step, "fcntl(F_DUPFD_CLOEXEC)", "the container's pidfd");
  return copy;
}

int OpenV1Procs(const std::string& dir, const char* step, SetupError* err) {
  std::string procs = dir + "/cgroup.procs";
  int fd = AboveStdio(open(procs.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd < 0) err->Set(step, "open", procs);
  return fd;
}

// A new user namespace's maps, written by this (privileged) process for its child,
// gid_map first and each in one write as the kernel requires; then the byte that lets
// the child become the namespace's root and exec nsbox-init (clone_exec.h).
bool WriteIdMaps(Helper* h, const std::string& uid_map, const std::string& gid_map, SetupError* err) {
  for (const auto& [file, map] : {std::pair<const char*, const std::string*>{"gid_map", &gid_map}, {"uid_map", &uid_map}}) {
    std::string path = "/proc/" + std::to_string(h->pid) + "/" + file;
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return err->Set("userns", "open", path);
    ssize_t n = sys::retry_eintr([&] { return write(fd, map->data(), map->size()); });
    int e = errno;
    close(fd);
    if (n != static_cast<ssize_t>(map->size())) return err->Set("userns", "write", path + ": " + *map, n < 0 ? e : EIO);
  }
  if (sys::retry_eintr([&] { return send(h->sync, "M", 1, MSG_NOSIGNAL); }) != 1) return err->Set("userns", "send", "the maps-written byte");
  return true;
}

// Names a filesystem for an error: the common ones by their magic, others in hex.
std::string FilesystemName(int fd) {
  struct statfs sf;
  if (fstatfs(fd, &sf) < 0) return "unknown";
  switch (static_cast<unsigned long>(sf.f_type)) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794C7630: return "overlay";
    case 0x6969: return "nfs";
    case 0x65735546: return "fuse";
    case 0x73717368: return "squashfs";
    default: {
      char hex[24];
      snprintf(hex, sizeof(hex), "0x%lx", static_cast<unsigned long>(sf.f_type));
      return hex;
    }
  }
}

// One tree as the child's user namespace sees it owned: a clone of `path` (a rootfs
// opened without following symlinks, a bind source as the init would open it), checked
// to be what lib found there, idmapped with the child's namespace (which has its maps
// by now) and sent to the child (handshake.h). A filesystem that takes no idmapped
// mount fails the create, naming it.
bool SendIdmapped(const char* step, const std::string& path, uint64_t dev, uint64_t ino, bool follow, bool recursive,
                  int userns, Helper* h, SetupError* err) {
  int fd = follow ? open(path.c_str(), O_PATH | O_CLOEXEC)
                  : sys::openat2(AT_FDCWD, path.c_str(), O_PATH | O_CLOEXEC, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) return err->Set(step, follow ? "open" : "openat2", path);
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_dev != dev || st.st_ino != ino) {
    close(fd);
    return err->Set(step, "verify-source", path + ": not the file that was checked", ESTALE);
  }
  unsigned rec = recursive ? AT_RECURSIVE : 0;
  int mnt = sys::open_tree(fd, "", OPEN_TREE_CLONE | AT_EMPTY_PATH | rec);
  std::string fs = FilesystemName(fd);
  close(fd);
  if (mnt < 0) return err->Set(step, "open_tree", path);
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns);
  if (syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr)) < 0) {
    int e = errno;
    close(mnt);
    return err->Set(step, "mount_setattr(MOUNT_ATTR_IDMAP)", path + ": its filesystem (" + fs + ") takes no idmapped mount here", e);
  }
  IdmapMessage m;
  ssize_t n = SendWithFd(h->sync, &m, sizeof(m), mnt);
  close(mnt);
  if (n != static_cast<ssize_t>(sizeof(m))) return err->Set(step, "sendmsg", "an idmapped mount");
  return true;
}

// The rootfs (with idmap_rootfs), then each idmapped bind in the plan's order, which
// is the order the init takes them in.
bool SendIdmappedMounts(const ChildPlan& plan, Helper* h, SetupError* err) {
  std::string ns = "/proc/" + std::to_string(h->pid) + "/ns/user";
  int userns = open(ns.c_str(), O_RDONLY | O_CLOEXEC);
  if (userns < 0) return err->Set("userns", "open", ns);
  bool ok = !(plan.idmap_rootfs && !plan.host_root) ||
            SendIdmapped("rootfs", plan.rootfs, plan.rootfs_dev, plan.rootfs_ino, false, true, userns, h, err);
  for (const MountPlan& m : plan.mounts) {
    if (!ok) break;
    if (m.kind == kBind && m.idmap) ok = SendIdmapped("mounts", m.source, m.source_dev, m.source_ino, true, m.recursive, userns, h, err);
  }
  close(userns);
  return ok;
}

// Clones a child (namespaces and cgroup as in `flags` and `cgroup_fd`) that execs
// nsbox-init in `mode` with `plan` (init/main.cc has the contract): the helper
// inherits its report socket, the plan's memfd and the plan's kFd fields, and with
// `inherit_stdio` fds 0..2.
template <class P>
bool LaunchHelper(const char* mode, const P& plan, bool inherit_stdio, uint64_t flags, int cgroup_fd, Helper* h,
                  SetupError* err) {
  int helper = HelperFd(err);
  if (helper < 0) return false;
  int child_sync = -1;
  if (!SocketPair(&h->sync, &child_sync, err)) return false;
  int plan_fd = BytesFd((std::string("nsbox-") + mode).c_str(), EncodePlan(plan), err);
  if (plan_fd < 0) return CloseFd(&child_sync), false;
  std::string words[] = {"nsbox-init", mode, std::to_string(child_sync), std::to_string(plan_fd)};
  char* argv[] = {words[0].data(), words[1].data(), words[2].data(), words[3].data(), nullptr};
  std::vector<int> pass = {child_sync, plan_fd};
  ForEachPassedFd(plan, [&pass](int fd) { pass.push_back(fd); });
  // Node opens its own fds 0..2 close-on-exec; a child that inherits them gets them
  // passed like the other fds (cleared of the flag in its copy of the table only).
  if (inherit_stdio) pass.insert(pass.end(), {0, 1, 2});
  HelperLaunch launch;
  launch.helper_fd = helper;
  launch.argv = argv;
  launch.pass_fds = pass.data();
  launch.npass = static_cast<int>(pass.size());
  const std::string* maps[2] = {nullptr, nullptr};
  const ChildPlan* idmapped = nullptr;
  if constexpr (std::is_same_v<P, ChildPlan>) {
    if (flags & CLONE_NEWUSER) {
      maps[0] = &plan.uid_map, maps[1] = &plan.gid_map, launch.await_maps_fd = child_sync;
      bool binds = std::any_of(plan.mounts.begin(), plan.mounts.end(), [](const MountPlan& m) { return m.kind == kBind && m.idmap; });
      if ((plan.idmap_rootfs && !plan.host_root) || binds) idmapped = &plan;
      if (!plan.host_root) launch.chdir_first = plan.rootfs.c_str();
    }
  }

  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = flags | CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uint64_t>(&h->pidfd);
  // No SIGCHLD: Node's own handler (libuv's) has nothing to do with our children,
  // and a signal pending on this worker thread would make the BPF verifier give up
  // with EAGAIN. Exits are seen through the pidfd; waitid then needs __WALL.
  args.exit_signal = 0;
  args.cgroup = cgroup_fd >= 0 ? static_cast<uint64_t>(cgroup_fd) : 0;

  // The child starts with every signal blocked, so no handler of Node's runs on the
  // shared memory before the exec; the init unblocks right before the command.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long child = CloneExec(&args, &launch);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  CloseFd(&child_sync);
  CloseFd(&plan_fd);
  if (child < 0) return err->Set("clone", "clone3", mode, clone_errno);
  h->pid = static_cast<int>(child);
  if (launch.exec_errno) return err->Set("clone", "execveat", "nsbox-init", launch.exec_errno);
  if (maps[0] && (!WriteIdMaps(h, *maps[0], *maps[1], err) || (idmapped && !SendIdmappedMounts(*idmapped, h, err)))) {
    // The child waits for the maps before anything: killed, it has done nothing.
    Reap(h, true);
    return false;
  }
  return true;
}

// The parent's side of every helper (the init, join, exec): launches it, closes the
// fds the plan passed, and waits for its first Report (handshake.h). True on kReady
// (or an init's kHooks, or with `listener` a kListener and its fd), with the report in `r`. A helper that ends without a report is reaped here (its
// pidfd closed); otherwise the caller kills or keeps it.
template <class P>
bool RunHelper(const char* mode, const char* step, P& plan, bool inherit_stdio, uint64_t flags, int cgroup_fd,
               Helper* h, Report* r, SetupError* err, int* listener = nullptr) {
  bool launched = LaunchHelper(mode, plan, inherit_stdio, flags, cgroup_fd, h, err);
  CloseAllPassed(plan);
  if (!launched) return false;
  int got = ReadReport(h->sync, r, step, err, listener);
  if (got < 0) return false;
  if (got == 1) return ChildVanished(h->pidfd, step, err), CloseFd(&h->pidfd), false;
  bool first = r->kind == Report::kReady || (r->kind == Report::kHooks && strcmp(mode, "init") == 0) ||
               (r->kind == Report::kListener && listener && *listener >= 0);
  if (!first) return FromReport(*r, err);
  return true;
}

}  // namespace

void Reap(Helper* h, bool kill_first) {
  if (h->pidfd >= 0) {
    if (kill_first) sys::pidfd_send_signal(h->pidfd, SIGKILL);
    siginfo_t si;
    sys::retry_eintr([&] { return waitid(static_cast<idtype_t>(P_PIDFD), h->pidfd, &si, WEXITED | __WALL); });
  }
  CloseFd(&h->pidfd);
  CloseFd(&h->sync);
}

namespace {

// Opens the namespaces to join and checks each is a namespace of the kind named, so a
// wrong path fails here, before clone, with the path in the error.
bool OpenJoinedNamespaces(ChildPlan* plan, SetupError* err) {
  for (JoinNamespace& j : plan->join_namespaces) {
    j.fd = AboveStdio(open(j.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (j.fd < 0) return err->Set("namespace-join", "open", j.path);
    int type = ioctl(j.fd, NS_GET_NSTYPE);
    if (type < 0) return err->Set("namespace-join", "ioctl(NS_GET_NSTYPE)", j.path + ": not a namespace");
    if (static_cast<uint64_t>(type) != j.type.flag) return err->Set("namespace-join", "ioctl(NS_GET_NSTYPE)", j.path + ": a namespace of another kind", EINVAL);
    // The creator's own mount namespace would have the host's root pivoted and its
    // mounts made there; its own uts namespace would get the host a new hostname.
    bool sets_names = !plan->hostname.empty() || !plan->domainname.empty();
    const char* own = j.type.flag == CLONE_NEWNS ? "/proc/self/ns/mnt" : j.type.flag == CLONE_NEWUTS && sets_names ? "/proc/self/ns/uts" : nullptr;
    struct stat mine, theirs;
    if (own && stat(own, &mine) == 0 && fstat(j.fd, &theirs) == 0 && mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino) {
      return err->Set("namespace-join", "fstat", j.path + (j.type.flag == CLONE_NEWNS ? ": the runtime's own mount namespace (the host's root would be pivoted)"
                                                                                    : ": the runtime's own uts namespace (the host's names would change)"), EPERM);
    }
  }
  return true;
}

// A pid namespace given by path (a pod's) is not entered by the init: setns of a pid
// namespace places only the caller's later children there. So this worker thread
// enters it for the clone and goes back to its own right after; nothing else clones
// on this thread in between.
class PidNamespaceForClone {
 public:
  bool Enter(const ChildPlan& plan, SetupError* err) {
    for (const JoinNamespace& j : plan.join_namespaces) {
      if (j.type.flag != CLONE_NEWPID) continue;
      own_ = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
      if (own_ < 0) return err->Set("namespace-join", "open", "/proc/thread-self/ns/pid");
      if (setns(j.fd, CLONE_NEWPID) < 0) return err->Set("namespace-join", "setns", j.path);
    }
    return true;
  }
  ~PidNamespaceForClone() {
    if (own_ < 0) return;
    // Our own active namespace can always be entered again; a thread that could not
    // would give the next container of any caller the pod's pid namespace.
    if (setns(own_, CLONE_NEWPID) < 0) abort();
    close(own_);
  }

 private:
  int own_ = -1;
};

// A stream socket connected to `path` (the console socket of a terminal).
int ConnectUnix(const std::string& path, SetupError* err) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return err->Set("terminal", "connect", path, ENAMETOOLONG), -1;
  memcpy(addr.sun_path, path.c_str(), path.size());
  int fd = AboveStdio(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd < 0) return err->Set("terminal", "socket", path), -1;
  if (sys::retry_eintr([&] { return connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)); }) < 0) {
    err->Set("terminal", "connect", path);
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

void DiscardSpawned(Spawned* s) {
  Reap(s, true);
  CloseFd(&s->cgroup_v2_dir);
  s->devices.reset();
  for (int& fd : s->stdio) CloseFd(&fd);
}

// The sources of a process's fds 0..2 (`fds`, -1 where it inherits ours) and our ends
// of its pipes (`ours`): pipes, /dev/null for all three, or nothing to do for
// 'inherit' (the caller passes fds 0..2 along).
bool StdioSources(Stdio mode, PassedFds* fds, int ours[3], SetupError* err) {
  int* child[3] = {&fds->stdin_fd, &fds->stdout_fd, &fds->stderr_fd};
  if (mode == kPipe) {
    for (int i = 0; i < 3; i++) {
      int p[2];
      if (!MakePipe(p, err)) return false;
      // stdin: the child reads; stdout/stderr: the child writes.
      *child[i] = i == 0 ? p[0] : p[1];
      ours[i] = i == 0 ? p[1] : p[0];
    }
  } else if (mode == kIgnore) {
    for (int i = 0; i < 3; i++) {
      *child[i] = AboveStdio(open("/dev/null", O_RDWR | O_CLOEXEC));
      if (*child[i] < 0) return err->Set("stdio", "open", "/dev/null");
    }
  }
  return true;
}

// A user namespace's init runs as an unprivileged host id. Its rootfs and bind sources
// it opens by path in its own mount namespace (a parent's fd names a mount of the
// host's namespace, which it could not clone or mount on), so those must be reachable
// by that id; the start FIFO, which only root may open, is opened here and passed.
bool OpenForUserns(ChildPlan* plan, SetupError* err) {
  if (!plan->start_fifo.empty() &&
      (plan->fds.start_fifo = AboveStdio(open(plan->start_fifo.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW))) < 0)
    return err->Set("start-fifo", "open", plan->start_fifo);
  return true;
}

bool Spawn(ChildPlan& plan, Spawned* s, SetupError* err) {
  LowPriority low(plan.priority);
  CgroupFds cg;
  bool made_fifo = false;

  auto fail = [&]() {
    CloseAllPassed(plan);
    DiscardSpawned(s);
    if (made_fifo) unlink(plan.start_fifo.c_str());
    SetupError ignored;
    RemoveCgroupDirs(cg.made_v1, cg.made_v2 ? plan.cgroup_v2_dir : "", &ignored);
    return false;
  };

  if (!OpenJoinedNamespaces(&plan, err)) return fail();
  if (!plan.start_fifo.empty()) {
    if (mknod(plan.start_fifo.c_str(), S_IFIFO | 0600, 0) < 0) return err->Set("start-fifo", "mknod", plan.start_fifo), fail();
    made_fifo = true;
  }
  if ((plan.namespaces.flags & CLONE_NEWUSER) && !OpenForUserns(&plan, err)) return fail();
  if (!plan.console_socket.empty()) {
    plan.fds.console = ConnectUnix(plan.console_socket, err);
    if (plan.fds.console < 0) return fail();
  }
  if (!CreateCgroups(plan, &cg, err)) return fail();
  MarkCgroups(plan, cg);
  if (!WriteLimits(plan, err)) return fail();
  // Above stdio, like every fd the init inherits: its dup2 onto 0..2 must not hit it.
  for (V1Cgroup& v1 : plan.cgroup_v1) {
    v1.procs = AboveStdio(v1.procs);
    v1.dir_fd = AboveStdio(v1.dir_fd);
  }
  s->cgroup_v2_dir = cg.v2_dir;
  if (!StdioSources(plan.stdio, &plan.fds, s->stdio, err)) return fail();
  // The cgroup namespace is unshared by the init once it is in its cgroups.
  Report r;
  {
    PidNamespaceForClone pidns;
    if (!pidns.Enter(plan, err) ||
        !RunHelper("init", "setup", plan, plan.stdio == kInherit, plan.namespaces.flags & ~uint64_t(CLONE_NEWCGROUP),
                   cg.v2_dir, s, &r, err))
      return fail();
  }
  // A user namespace's init cannot raise its own priority back (sched_slice.h): done here.
  if ((plan.namespaces.flags & CLONE_NEWUSER) && !SetNiceAndSliceOf(s->pid, plan.priority, kContainerSliceNs) &&
      setpriority(PRIO_PROCESS, static_cast<id_t>(s->pid), plan.priority) < 0)
    return err->Set("priority", "setpriority", "the container's init"), fail();
  s->devices = NewDeviceBackend(plan.device_backend, plan.cgroup_v1_devices, plan.cgroup_v2_dir);
  if (!s->devices->Apply(plan.device_policy, plan.v1_writes, s->cgroup_v2_dir, err)) return fail();
  return true;
}

namespace {

// What the in-process join child reads and writes; it lives on the parent's stack.
struct FastJoin {
  const JoinPlan* plan;
  int target_pidfd, v1_procs;
  int err = 0;
  const char* step = "";
  const char* call = "";
  bool in_dir = false;
};

int Failed(FastJoin* j, const char* step, const char* call) {
  j->err = errno;
  j->step = step;
  j->call = call;
  return 1;
}

// Runs in the vfork-style child: raw syscalls only (see CloneRun).
int FastJoinChild(void* arg) {
  auto* j = static_cast<FastJoin*>(arg);
  const JoinPlan& p = *j->plan;
  if (syscall(SYS_setns, j->target_pidfd, CLONE_NEWNS) < 0) return Failed(j, "join", "setns");
  if (j->v1_procs >= 0 && syscall(SYS_write, j->v1_procs, "0", 1) < 0) return Failed(j, "join", "write");
  if (p.as_container) {
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {};
    for (int i = 0; i < 2; i++) data[i].effective = data[i].permitted = static_cast<uint32_t>(p.caps >> (32 * i));
    if (syscall(SYS_capset, &hdr, data) < 0) return Failed(j, "join-credentials", "capset");
  }
  // The runtime's passthrough is idempotent; mknodInside reports EEXIST like mknod(2).
  if (const char* call = MakeNodeInRoot(p.node, !p.as_container, &j->in_dir)) return Failed(j, "mknod", call);
  return 0;
}

// A join that changes no credentials needs no exec: the runtime's own passthrough,
// and mknodInside for a container running as root with no extra groups.
bool NeedsNoExec(const JoinPlan& p) {
  return !p.as_container || (p.uid == 0 && p.gid == 0 && p.groups.empty());
}

bool JoinInProcess(const JoinPlan& plan, const JoinTarget& target, SetupError* err) {
  FastJoin j{&plan, target.pidfd, -1};

  if (plan.as_container && !target.v1_dir.empty()) {
    j.v1_procs = OpenV1Procs(target.v1_dir, "join", err);
    if (j.v1_procs < 0) return false;
  }
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  int pidfd = -1;
  args.flags = CLONE_PIDFD | (plan.as_container && target.cgroup_v2_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = 0;
  args.cgroup = plan.as_container && target.cgroup_v2_fd >= 0 ? static_cast<uint64_t>(target.cgroup_v2_fd) : 0;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = CloneRun(&args, FastJoinChild, &j);  // returns once the child has exited
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  CloseFd(&j.v1_procs);
  if (pid < 0) return err->Set("clone", "clone3", "join", clone_errno);
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  sys::retry_eintr([&] { return waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &si, WEXITED | __WALL); });
  CloseFd(&pidfd);
  const std::string& path = plan.node.path;
  if (j.err) {
    std::string where = j.call == std::string("write") ? target.v1_dir : j.in_dir ? NodeDir(path) : path;
    return err->Set(j.step, j.call, where, j.err);
  }
  // Killed before it could say (the container's cgroup.kill, while it is destroyed):
  // the node may or may not exist, and the caller must not be told it does.
  if (si.si_code != CLD_EXITED || si.si_status != 0) return err->Set("join", "killed", path, ESRCH);
  return true;
}

}  // namespace

bool Join(JoinPlan plan, const JoinTarget& target, SetupError* err) {
  // A bound node goes through the helper: the file it binds on must be made as the
  // container's root (the container's tmpfs takes no id its namespace does not map),
  // which a child sharing Node's memory may not become.
  if (NeedsNoExec(plan) && plan.bind_host.empty()) return JoinInProcess(plan, target, err);
  Helper h;
  Report r;
  bool ok = (plan.fds.target_pidfd = DupForHelper(target.pidfd, "join", err)) >= 0 &&
            (!plan.as_container || target.v1_dir.empty() ||
             (plan.fds.v1_procs = OpenV1Procs(target.v1_dir, "join", err)) >= 0) &&
            RunHelper("join", "join", plan, false, 0, plan.as_container ? target.cgroup_v2_fd : -1, &h, &r, err);
  CloseAllPassed(plan);
  Reap(&h, !ok);
  return ok;
}

bool Start(int sync, const CapabilitySets& caps, const std::vector<uint32_t>& seccomp, uint32_t seccomp_flags, bool detached,
           const Listener& listener, SetupError* err) {
  StartMessage m;
  uint64_t sets[5] = {caps.bounding, caps.effective, caps.permitted, caps.inheritable, caps.ambient};
  memcpy(m.caps, sets, sizeof(sets));
  if (seccomp.size() > kMaxSeccompWords) return err->Set("start", "seccomp", "the filter is longer than 4096 instructions", E2BIG);
  m.seccomp_flags = seccomp_flags;
  m.seccomp_words = static_cast<uint32_t>(seccomp.size());
  // One message: header and filter arrive together or not at all.
  struct iovec iov[2] = {{&m, sizeof(m)}, {const_cast<uint32_t*>(seccomp.data()), seccomp.size() * sizeof(uint32_t)}};
  struct msghdr msg = {};
  msg.msg_iov = iov;
  msg.msg_iovlen = seccomp.empty() ? 1 : 2;
  ssize_t want = static_cast<ssize_t>(sizeof(m) + seccomp.size() * sizeof(uint32_t));
  if (sys::retry_eintr([&] { return sendmsg(sync, &msg, MSG_NOSIGNAL); }) != want)
    return err->Set("start", "send", "the container's init is gone");
  if ((seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) &&
      !AwaitListener(sync, listener.path, listener.head, listener.tail, listener.pid, "start", err)) {
    // Unanswered, the init exits 127 without running the command.
    shutdown(sync, SHUT_RDWR);
    return false;
  }
  // A detached init now waits on its start FIFO; nothing more comes over the socket.
  if (detached) return true;
  Report r;
  int got = ReadReport(sync, &r, "start", err);
  if (got < 0) return false;
  if (got == 1) return true;  // close-on-exec closed the child's end: execve succeeded
  return FromReport(r, err);
}

bool Resume(int sync, SetupError* err) {
  ResumeMessage m;
  if (sys::retry_eintr([&] { return send(sync, &m, sizeof(m), MSG_NOSIGNAL); }) != static_cast<ssize_t>(sizeof(m)))
    return err->Set("setup", "send", "the container's init is gone");
  Report r;
  int got = ReadReport(sync, &r, "setup", err);
  if (got < 0) return false;
  // Reaped by whoever destroys the container; described here only.
  if (got == 1) return err->Set("setup", "handshake", "the container's init ended after its hooks, before reporting", ECHILD);
  if (r.kind != Report::kReady) return FromReport(r, err);
  return true;
}

bool ExecIn(ExecPlan& plan, const JoinTarget& target, ExecResult* out, SetupError* err) {
  PassedFds& fds = plan.proc.fds;
  if (plan.join_user) plan.setns_flags.flags |= CLONE_NEWUSER;
  out->pid = out->pidfd = -1;
  Helper h;
  Report r;
  // The command's stdio is what its spec asks for: never this process's fds 0..2 unless
  // 'inherit' says so (a terminal replaces them inside).
  bool inherit = !plan.proc.terminal && plan.proc.stdio == kInherit;
  // The command joins every v1 directory of the container, as its init did.
  auto open_v1 = [&]() {
    for (const std::string& dir : target.v1_dirs) {
      V1Cgroup v1;
      v1.dir = dir;
      v1.procs = OpenV1Procs(dir, "exec-join", err);
      plan.cgroup_v1.push_back(v1);
      if (plan.cgroup_v1.back().procs < 0) return false;
    }
    return true;
  };
  int listener = -1;
  bool ok = (fds.target_pidfd = DupForHelper(target.pidfd, "exec-join", err)) >= 0 && open_v1() &&
            (plan.proc.console_socket.empty() || (fds.console = ConnectUnix(plan.proc.console_socket, err)) >= 0) &&
            StdioSources(plan.proc.terminal ? kIgnore : plan.proc.stdio, &fds, out->stdio, err) &&
            RunHelper("exec", "exec", plan, inherit, 0, target.cgroup_v2_fd, &h, &r, err, &listener);
  CloseAllPassed(plan);
  if (!ok) {
    CloseFd(&listener);
    for (int& fd : out->stdio) CloseFd(&fd);
    Reap(&h, true);
    return false;
  }
  // A notifying filter's fd comes first (handshake.h), then the helper's kReady.
  if (r.kind == Report::kListener) {
    ok = HandToListener(plan.proc.seccomp_listener_path, plan.proc.seccomp_listener_head, r.pid, plan.proc.seccomp_listener_tail,
                        &listener, err) &&
         Ack(h.sync, "exec", err);
    int got = ok ? ReadReport(h.sync, &r, "exec", err) : -1;
    if (got == 1) err->Set("exec", "handshake", "the exec helper ended before reporting", ECHILD);
    if (got == 0 && r.kind != Report::kReady) FromReport(r, err);
    if (got != 0 || r.kind != Report::kReady) {
      for (int& fd : out->stdio) CloseFd(&fd);
      Reap(&h, true);
      return false;
    }
  }
  out->pid = r.pid;
  out->helper_pid = h.pid;
  CloseFd(&h.sync);
  // A detached helper leaves right after its report; reap it here.
  if (plan.detach) Reap(&h, false);
  out->pidfd = h.pidfd;
  return true;
}

}  // namespace nsbox
