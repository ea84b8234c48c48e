#include "spawn.h"

#include <csignal>
#include <cstring>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <linux/nsfs.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bpf_devices.h"
#include "cgroup.h"
#include "clone_exec.h"
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
// 1 on EOF, -1 on error (err filled).
int ReadReport(int sync, Report* r, const char* step, SetupError* err) {
  struct pollfd p = {sync, POLLIN, 0};
  int ready = sys::retry_eintr([&] { return poll(&p, 1, kHandshakeTimeoutMs); });
  if (ready == 0) {
    err->Set(step, "poll", "no answer from the container's init", ETIMEDOUT);
    return -1;
  }
  if (ready < 0) return err->Set(step, "poll"), -1;
  ssize_t n = sys::retry_eintr([&] { return recv(sync, r, sizeof(*r), 0); });
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
  return err->Set(r.step, r.syscall, r.detail, r.err);
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

bool ApplyDeviceRules(const ChildPlan& plan, Spawned* s, SetupError* err) {
  if (!plan.device_backend_v2) return WriteV1DeviceRules(plan.cgroup_v1_devices, plan.v1_writes, err);
  DeviceProgram prog;
  if (!LoadDeviceProgram(plan.device_policy, &prog, err)) return false;
  s->device_prog = prog.prog;
  s->device_map = prog.map;
  return AttachDeviceProgram(s->cgroup_v2_dir, s->device_prog, -1, plan.cgroup_v2_dir, err);
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

void Cleanup(const ChildPlan& plan, Spawned* s, CgroupFds* cg, int child_ends[6], bool made_fifo) {
  DiscardSpawned(s);
  for (int i = 0; i < 6; i++) CloseFd(&child_ends[i]);
  if (made_fifo) unlink(plan.exec_fifo.c_str());
  CloseFd(&cg->v1_procs);
  SetupError ignored;
  if (cg->made_v1) RemoveCgroupDir(plan.cgroup_v1_devices, &ignored);
  if (cg->made_v2) RemoveCgroupDir(plan.cgroup_v2_dir, &ignored);
}


// Clones a child (namespaces and cgroup as in `flags` and `cgroup_fd`) that execs
// nsbox-init with `words` as its argv, inheriting the fds in `pass`.
bool LaunchHelper(uint64_t flags, int cgroup_fd, const std::vector<std::string>& words,
                  const std::vector<int>& pass, int* pid, int* pidfd, SetupError* err) {
  int helper = HelperFd(err);
  if (helper < 0) return false;
  std::vector<char*> argv;
  for (const std::string& w : words) argv.push_back(const_cast<char*>(w.c_str()));
  argv.push_back(nullptr);
  HelperLaunch launch;
  launch.helper_fd = helper;
  launch.argv = argv.data();
  launch.pass_fds = pass.data();
  launch.npass = static_cast<int>(pass.size());

  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.flags = flags | CLONE_PIDFD | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
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
  if (child < 0) return err->Set("clone", "clone3", words[0], clone_errno);
  *pid = static_cast<int>(child);
  if (launch.exec_errno) return err->Set("clone", "execveat", "nsbox-init", launch.exec_errno);
  return true;
}

std::string Num(int fd) { return std::to_string(fd); }

// Opens the namespaces to join and checks each is a namespace of the kind named, so a
// wrong path fails here, before clone, with the path in the error. Fills `arg` with
// "type:fd,..." for the init's command line.
bool OpenJoinedNamespaces(const ChildPlan& plan, std::vector<int>* fds, std::string* arg, SetupError* err) {
  for (const auto& j : plan.join_namespaces) {
    int fd = AboveStdio(open(j.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd < 0) return err->Set("namespace-join", "open", j.path);
    fds->push_back(fd);
    int type = ioctl(fd, NS_GET_NSTYPE);
    if (type < 0) return err->Set("namespace-join", "ioctl(NS_GET_NSTYPE)", j.path + ": not a namespace");
    if (static_cast<uint64_t>(type) != j.type) return err->Set("namespace-join", "ioctl(NS_GET_NSTYPE)", j.path + ": a namespace of another kind", EINVAL);
    *arg += (arg->empty() ? "" : ",") + std::to_string(j.type) + ":" + std::to_string(fd);
  }
  if (arg->empty()) *arg = "-";
  return true;
}

std::vector<int> Concat(std::vector<int> a, const std::vector<int>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Node opens its own fds 0..2 close-on-exec; a child that inherits them gets them
// passed like the other fds (cleared of the flag in its copy of the table only).
std::vector<int> StdioPass(bool inherit, std::vector<int> fds) {
  if (inherit) fds.insert(fds.end(), {0, 1, 2});
  return fds;
}

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

void KillAndReap(int pidfd) {
  sys::pidfd_send_signal(pidfd, SIGKILL);
  siginfo_t si;
  sys::retry_eintr([&] { return waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &si, WEXITED | __WALL); });
}

void DiscardSpawned(Spawned* s) {
  if (s->pidfd >= 0) KillAndReap(s->pidfd);
  for (int* fd : {&s->sync, &s->pidfd, &s->device_prog, &s->device_map, &s->cgroup_v2_dir}) CloseFd(fd);
  for (int& fd : s->stdio) CloseFd(&fd);
}

// The sources of a process's fds 0..2 (`child`, -1 where it inherits ours; three
// distinct fds the caller closes) and our ends of its pipes (`ours`): pipes, /dev/null
// for all three, or nothing to do for 'inherit' (the caller passes fds 0..2 along).
bool StdioSources(ChildPlan::Stdio mode, int child[3], int ours[3], SetupError* err) {
  if (mode == ChildPlan::kPipe) {
    for (int i = 0; i < 3; i++) {
      int p[2];
      if (!MakePipe(p, err)) return false;
      // stdin: the child reads; stdout/stderr: the child writes.
      child[i] = i == 0 ? p[0] : p[1];
      ours[i] = i == 0 ? p[1] : p[0];
    }
  } else if (mode == ChildPlan::kIgnore) {
    for (int i = 0; i < 3; i++) {
      child[i] = AboveStdio(open("/dev/null", O_RDWR | O_CLOEXEC));
      if (child[i] < 0) return err->Set("stdio", "open", "/dev/null");
    }
  }
  return true;
}

bool Spawn(const ChildPlan& plan, Spawned* s, SetupError* err) {
  LowPriority low(plan.priority);
  CgroupFds cg;
  // Fds for the child: [0] handshake, [1..3] stdio sources, [4] the plan, [5] the
  // console socket. Closed in the parent once the helper runs.
  int child_ends[6] = {-1, -1, -1, -1, -1, -1};
  bool made_fifo = false;
  std::vector<int> ns_fds;
  std::string ns_arg;

  auto fail = [&]() {
    for (int& fd : ns_fds) CloseFd(&fd);
    Cleanup(plan, s, &cg, child_ends, made_fifo);
    return false;
  };

  if (!OpenJoinedNamespaces(plan, &ns_fds, &ns_arg, err)) return fail();

  if (!plan.exec_fifo.empty()) {
    if (mknod(plan.exec_fifo.c_str(), S_IFIFO | 0600, 0) < 0) return err->Set("start-fifo", "mknod", plan.exec_fifo), fail();
    made_fifo = true;
  }
  if (!plan.console_socket.empty()) {
    child_ends[5] = ConnectUnix(plan.console_socket, err);
    if (child_ends[5] < 0) return fail();
  }
  if (!CreateCgroups(plan, &cg, err)) return fail();
  // Above stdio, like every fd the init inherits: its dup2 onto 0..2 must not hit it.
  cg.v1_procs = AboveStdio(cg.v1_procs);
  MarkCgroups(plan, cg);
  s->cgroup_v2_dir = cg.v2_dir;
  if (!SocketPair(&s->sync, &child_ends[0], err)) return fail();
  if (!StdioSources(plan.stdio, &child_ends[1], s->stdio, err)) return fail();
  child_ends[4] = BytesFd("nsbox-plan", EncodePlan(plan), err);
  if (child_ends[4] < 0) return fail();

  int in = child_ends[1], out = child_ends[2], errfd = child_ends[3];
  if (!LaunchHelper(plan.clone_flags, cg.v2_dir,
                    {"nsbox-init", Num(child_ends[0]), Num(child_ends[4]), Num(in), Num(out), Num(errfd), Num(cg.v1_procs),
                     Num(child_ends[5]), ns_arg},
                    Concat(StdioPass(plan.stdio == ChildPlan::kInherit, {child_ends[0], child_ends[4], in, out, errfd, cg.v1_procs, child_ends[5]}), ns_fds),
                    &s->pid, &s->pidfd, err))
    return fail();
  for (int i = 0; i < 6; i++) CloseFd(&child_ends[i]);
  for (int& fd : ns_fds) CloseFd(&fd);
  CloseFd(&cg.v1_procs);

  Report r;
  int got = ReadReport(s->sync, &r, "setup", err);
  if (got < 0) return fail();
  if (got == 1) return ChildVanished(s->pidfd, "setup", err), CloseFd(&s->pidfd), fail();
  if (r.kind != Report::kReady) return FromReport(r, err), fail();
  if (!ApplyDeviceRules(plan, s, err)) return fail();
  return true;
}

namespace {

// What the in-process join child reads and writes; it lives on the parent's stack.
struct FastJoin {
  const JoinPlan* plan;
  int target_pidfd, v1_procs;
  const char* dir;
  const char* name;
  int err = 0;
  const char* step = "";
  const char* call = "";
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
  syscall(SYS_umask, 0);
  int dirfd = sys::openat2(AT_FDCWD, j->dir, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (dirfd < 0) return Failed(j, "mknod", "openat2");
  // The runtime's passthrough is idempotent; mknodInside reports EEXIST like mknod(2).
  if (const char* call = MakeNodeAt(dirfd, j->name, p.node, !p.as_container)) return Failed(j, "mknod", call);
  return 0;
}

// A join that changes no credentials needs no exec: the runtime's own passthrough,
// and mknodInside for a container running as root with no extra groups.
bool NeedsNoExec(const JoinPlan& p) {
  return !p.as_container || (p.uid == 0 && p.gid == 0 && p.groups.empty());
}

bool JoinInProcess(const JoinPlan& plan, const JoinTarget& target, SetupError* err) {
  const std::string& path = plan.node.path;
  size_t slash = path.rfind('/');
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string name = path.substr(slash + 1);
  FastJoin j{&plan, target.pidfd, -1, dir.c_str(), name.c_str()};
  if (plan.as_container && !target.v1_dir.empty()) {
    std::string procs = target.v1_dir + "/cgroup.procs";
    j.v1_procs = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (j.v1_procs < 0) return err->Set("join", "open", procs);
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
  if (j.err) {
    std::string where = j.call == std::string("openat2") ? dir : j.call == std::string("write") ? target.v1_dir : path;
    return err->Set(j.step, j.call, where, j.err);
  }
  // Killed before it could say (the container's cgroup.kill, while it is destroyed):
  // the node may or may not exist, and the caller must not be told it does.
  if (si.si_code != CLD_EXITED || si.si_status != 0) return err->Set("join", "killed", path, ESRCH);
  return true;
}

}  // namespace

bool Join(const JoinPlan& plan, const JoinTarget& target, SetupError* err) {
  if (NeedsNoExec(plan)) return JoinInProcess(plan, target, err);
  int sync = -1, child_sync = -1, plan_fd = -1, v1_procs = -1, pid = -1, pidfd = -1;
  auto done = [&](bool ok) {
    if (pidfd >= 0) {
      if (!ok) sys::pidfd_send_signal(pidfd, SIGKILL);
      siginfo_t si;
      sys::retry_eintr([&] { return waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &si, WEXITED | __WALL); });
    }
    for (int* fd : {&sync, &child_sync, &plan_fd, &v1_procs, &pidfd}) CloseFd(fd);
    return ok;
  };
  if (!SocketPair(&sync, &child_sync, err)) return done(false);
  plan_fd = BytesFd("nsbox-join", EncodeJoin(plan), err);
  if (plan_fd < 0) return done(false);
  if (plan.as_container && !target.v1_dir.empty()) {
    std::string procs = target.v1_dir + "/cgroup.procs";
    v1_procs = AboveStdio(open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (v1_procs < 0) return err->Set("join", "open", procs), done(false);
  }
  int cgroup = plan.as_container ? target.cgroup_v2_fd : -1;
  if (!LaunchHelper(0, cgroup, {"nsbox-init", "join", Num(child_sync), Num(plan_fd), Num(target.pidfd), Num(v1_procs)},
                    {child_sync, plan_fd, target.pidfd, v1_procs}, &pid, &pidfd, err))
    return done(false);
  CloseFd(&child_sync);
  CloseFd(&plan_fd);
  CloseFd(&v1_procs);
  Report r;
  int got = ReadReport(sync, &r, "join", err);
  if (got < 0) return done(false);
  if (got == 1) return ChildVanished(pidfd, "join", err), CloseFd(&pidfd), done(false);
  if (r.kind != Report::kReady) return FromReport(r, err), done(false);
  return done(true);
}

bool Start(int sync, const CapabilitySets& caps, bool detached, SetupError* err) {
  StartMessage m;
  uint64_t sets[5] = {caps.bounding, caps.effective, caps.permitted, caps.inheritable, caps.ambient};
  memcpy(m.caps, sets, sizeof(sets));
  if (sys::retry_eintr([&] { return send(sync, &m, sizeof(m), MSG_NOSIGNAL); }) != sizeof(m))
    return err->Set("start", "send", "the container's init is gone");
  // A detached init now waits on its start FIFO; nothing more comes over the socket.
  if (detached) return true;
  Report r;
  int got = ReadReport(sync, &r, "start", err);
  if (got < 0) return false;
  if (got == 1) return true;  // close-on-exec closed the child's end: execve succeeded
  return FromReport(r, err);
}

}  // namespace nsbox

namespace nsbox {

bool ExecIn(const ExecPlan& plan, const JoinTarget& target, const std::string& console_socket, ExecResult* out,
            SetupError* err) {
  int sync = -1, child_sync = -1, plan_fd = -1, v1_procs = -1, console = -1;
  int sources[3] = {-1, -1, -1};
  out->pid = out->pidfd = -1;
  auto done = [&](bool ok) {
    for (int& fd : sources) CloseFd(&fd);
    if (!ok)
      for (int& fd : out->stdio) CloseFd(&fd);
    if (!ok && out->pidfd >= 0) KillAndReap(out->pidfd);
    if ((!ok || plan.detach) && out->pidfd >= 0) {
      // A detached helper leaves right after its report; reap it here.
      siginfo_t si;
      sys::retry_eintr([&] { return waitid(static_cast<idtype_t>(P_PIDFD), out->pidfd, &si, WEXITED | __WALL); });
      CloseFd(&out->pidfd);
    }
    for (int* fd : {&sync, &child_sync, &plan_fd, &v1_procs, &console}) CloseFd(fd);
    return ok;
  };
  if (!SocketPair(&sync, &child_sync, err)) return done(false);
  plan_fd = BytesFd("nsbox-exec", EncodeExec(plan), err);
  if (plan_fd < 0) return done(false);
  if (!target.v1_dir.empty()) {
    std::string procs = target.v1_dir + "/cgroup.procs";
    v1_procs = AboveStdio(open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (v1_procs < 0) return err->Set("exec-join", "open", procs), done(false);
  }
  if (!console_socket.empty()) {
    console = ConnectUnix(console_socket, err);
    if (console < 0) return done(false);
  }
  // The command's stdio is what its spec asks for: never this process's fds 0..2 unless
  // 'inherit' says so (a terminal replaces them inside).
  if (!StdioSources(plan.proc.terminal ? ChildPlan::kIgnore : plan.proc.stdio, sources, out->stdio, err)) return done(false);
  bool inherit = !plan.proc.terminal && plan.proc.stdio == ChildPlan::kInherit;
  int helper_pid = -1;
  if (!LaunchHelper(0, target.cgroup_v2_fd,
                    {"nsbox-init", "exec", Num(child_sync), Num(plan_fd), Num(target.pidfd), Num(v1_procs), Num(console),
                     Num(sources[0]), Num(sources[1]), Num(sources[2])},
                    StdioPass(inherit, {child_sync, plan_fd, target.pidfd, v1_procs, console, sources[0], sources[1], sources[2]}),
                    &helper_pid, &out->pidfd, err))
    return done(false);
  out->helper_pid = helper_pid;
  CloseFd(&child_sync);
  CloseFd(&plan_fd);
  CloseFd(&v1_procs);
  CloseFd(&console);
  Report r;
  int got = ReadReport(sync, &r, "exec", err);
  if (got < 0) return done(false);
  if (got == 1) return ChildVanished(out->pidfd, "exec", err), CloseFd(&out->pidfd), done(false);
  if (r.kind != Report::kReady) return FromReport(r, err), done(false);
  out->pid = r.pid;
  return done(true);
}

}  // namespace nsbox
