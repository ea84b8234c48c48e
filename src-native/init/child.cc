// The container init's stage runner. See handshake.h for the protocol.
#include "child.h"

#include <csignal>
#include <sched.h>
#include <cstring>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>

#include <algorithm>

#include "../fd_passing.h"
#include "../handshake.h"
#include "../sched_slice.h"
#include "../sys.h"

namespace nsbox {
namespace {

int g_sync_fd = -1;
// The status a failed setup exits with: 127, but 126 for a command that was found and
// could not be executed (EACCES, ENOEXEC...), as shells and runc's clients count them.
int g_fail_status = 127;
// Set once nobody reads the handshake any more (a detached container after its start
// message): failures are then written to the container's stderr as well.
bool g_report_to_stderr = false;

void WriteAll(int fd, const char* s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = sys::retry_eintr([&] { return write(fd, s, n); });
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

void SendReport(const Report& r) {
  sys::retry_eintr([&] { return send(g_sync_fd, &r, sizeof(r), MSG_NOSIGNAL); });
  if (g_report_to_stderr && r.kind == Report::kError) {
    char line[700];
    snprintf(line, sizeof(line), "nsbox-init: %s: %s: %s (%s)\n", r.step, r.syscall, strerror(r.err), r.detail);
    WriteAll(2, line);
  }
}

}  // namespace

// Ignored signals stay ignored across exec (Node ignores SIGPIPE): give the
// container default dispositions.
void ResetSignals() {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, nullptr);  // EINVAL for the libc-reserved ones is fine
  }
}

// Leaves only 0, 1, 2 and the fds in `keep` (the handshake socket, the start FIFO)
// open: nothing of the host's fd table (Node's epoll, leaked non-CLOEXEC fds, the
// cgroup fds) survives to the next step.
void CloseOtherFds(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned next = 3;
  for (int fd : keep) {
    if (fd < static_cast<int>(next)) continue;
    if (static_cast<unsigned>(fd) > next && sys::close_range(next, fd - 1, 0) < 0) Fail("close-fds", "close_range");
    next = static_cast<unsigned>(fd) + 1;
  }
  if (sys::close_range(next, ~0U, 0) < 0) Fail("close-fds", "close_range");
}

// Every container process leads a session of its own: kill(0, ...) and kill(-pgrp)
// from inside reach nothing of the creator's process group, and /dev/tty opens only
// a terminal the container was given (no TIOCSTI into the creator's terminal). It also
// gets a new anonymous session keyring, so keys it adds to @s are not the creator's
// (a kernel built without keys has nothing to share).
void NewSession() {
  if (setsid() < 0) Fail("session", "setsid");
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0 && errno != ENOSYS)
    Fail("session", "keyctl(KEYCTL_JOIN_SESSION_KEYRING)");
}

namespace {

}  // namespace

// The parent keeps every source above 2, so dup2 never clobbers another source.
void SetupStdio(const PassedFds& fds) {
  int sources[3] = {fds.stdin_fd, fds.stdout_fd, fds.stderr_fd};
  for (int i = 0; i < 3; i++)
    if (sources[i] >= 0 && dup2(sources[i], i) < 0) Fail("stdio", "dup2");
  for (int fd : sources)
    if (fd > 2) close(fd);
}

namespace {

// Namespaces given by path (a pod's shared network, say): entered first, as the
// clone's own new namespaces were made first.
void JoinNamespaces(const ChildPlan& plan) {
  for (const JoinNamespace& j : plan.join_namespaces) {
    const char* kind = "";
    for (const auto& n : kNamespaceFlags)
      if (n.value == j.type.flag) kind = n.name;
    // A joined pid namespace is the parent's to enter (spawn.cc): the init is cloned into it.
    if (j.type.flag != CLONE_NEWPID && setns(j.fd, static_cast<int>(j.type.flag)) < 0) Fail("namespace-join", "setns", kind, " namespace");
    close(j.fd);
  }
}

void JoinCgroups(const ChildPlan& plan) {
  // cgroup2 placement happened at clone time (CLONE_INTO_CGROUP). The v1 hierarchies
  // have no such thing: "0" moves the writer itself.
  for (const V1Cgroup& v1 : plan.cgroup_v1) {
    if (sys::retry_eintr([&] { return write(v1.procs, "0", 1); }) < 0) Fail("cgroup-join", "write", v1.dir.c_str(), "/cgroup.procs");
    close(v1.procs);
  }
  // Unshared only now, so that the namespace root is the container's own cgroup.
  if ((plan.namespaces.flags & CLONE_NEWCGROUP) && syscall(SYS_unshare, CLONE_NEWCGROUP) < 0)
    Fail("cgroup-namespace", "unshare");
}

// The start FIFO, opened read-write so that the open never blocks and a byte written
// by any later opener wakes us. It is opened before the mount namespace changes,
// while the host path still resolves.
int OpenStartFifo(const ChildPlan& plan) {
  if (plan.start_fifo.empty()) return -1;
  int fd = plan.fds.start_fifo >= 0 ? plan.fds.start_fifo : open(plan.start_fifo.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) Fail("start-fifo", "open", plan.start_fifo.c_str());
  struct stat st;
  if (fstat(fd, &st) < 0) Fail("start-fifo", "fstat", plan.start_fifo.c_str());
  if (!S_ISFIFO(st.st_mode)) {
    errno = EINVAL;
    Fail("start-fifo", "fstat", plan.start_fifo.c_str());
  }
  return fd;
}

void AwaitStartFifo(int fifo) {
  g_report_to_stderr = true;
  char c;
  ssize_t n = sys::retry_eintr([&] { return read(fifo, &c, 1); });
  if (n != 1) Fail("start-fifo", "read");
  close(fifo);
}

// The start message: its header, then the filter's words (handshake.h).
struct StartBuffer {
  StartMessage m;
  uint32_t words[kMaxSeccompWords];
};
StartBuffer g_start;

// Reports kReady and waits for the start message; returns the capability sets to run
// with, and `sc` the filter built for them.
CapabilitySets AwaitStart(SeccompProgram* sc) {
  ReportSuccess();
  ssize_t n = sys::retry_eintr([&] { return recv(g_sync_fd, &g_start, sizeof(g_start), 0); });
  const StartMessage& m = g_start.m;
  // Creator gone, or destroyed before start; or a message that is not whole.
  if (n < static_cast<ssize_t>(sizeof(m)) || m.magic != 'S' || m.seccomp_words > kMaxSeccompWords ||
      n != static_cast<ssize_t>(sizeof(m) + m.seccomp_words * sizeof(uint32_t)))
    _exit(0);
  *sc = SeccompProgram{g_start.words, m.seccomp_words, m.seccomp_flags};
  return CapabilitySets{m.caps[0], m.caps[1], m.caps[2], m.caps[3], m.caps[4]};
}

}  // namespace

void SetRlimits(const ChildPlan& plan) {
  for (const RlimitPlan& l : plan.rlimits) {
    struct rlimit64 r = {l.soft, l.hard};
    if (prlimit64(0, static_cast<__rlimit_resource>(l.resource), &r, nullptr) < 0)
      Fail("rlimits", "prlimit", std::to_string(l.resource).c_str());
  }
}

[[noreturn]] void Exec(const ChildPlan& plan) {
  std::vector<char*> argv, envp;
  for (const auto& a : plan.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  syscall(SYS_umask, plan.umask & 0777);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  int err = ENOENT;
  const char* last = plan.argv.empty() ? "" : plan.argv[0].c_str();
  for (const auto& candidate : plan.exec_candidates) {
    execve(candidate.c_str(), argv.data(), envp.data());
    // Like execvp: keep looking past missing or unreadable entries, remember EACCES.
    if (errno == ENOENT || errno == ENOTDIR) continue;
    err = errno;
    last = candidate.c_str();
    if (errno != EACCES) break;
  }
  if (err != ENOENT && err != ENOTDIR) g_fail_status = 126;
  errno = err;
  Fail("exec", "execve", last);
}

void SetReportFd(int fd) { g_sync_fd = fd; }
int ReportFd() { return g_sync_fd; }

void ReportSuccess(int pid) {
  Report ready;
  memset(&ready, 0, sizeof(ready));
  ready.kind = Report::kReady;
  ready.pid = pid;
  SendReport(ready);
}

void SendReportWithFd(const Report& r, int fd) {
  if (SendWithFd(g_sync_fd, &r, sizeof(r), fd) != static_cast<ssize_t>(sizeof(r))) Fail("seccomp", "sendmsg", "the filter's listener fd");
}

ssize_t RecvReport(int sock, Report* r, int* fd) { return RecvWithFd(sock, r, sizeof(*r), fd); }

void AwaitHooks() {
  Report paused;
  memset(&paused, 0, sizeof(paused));
  paused.kind = Report::kHooks;
  SendReport(paused);
  ResumeMessage m;
  ssize_t n = sys::retry_eintr([&] { return recv(g_sync_fd, &m, sizeof(m), 0); });
  // A hook failed (the parent destroys the container) or the creator is gone.
  if (n != static_cast<ssize_t>(sizeof(m)) || m.magic != 'R') _exit(0);
}

void CopyJoined(char* dst, size_t cap, const char* a, const char* b) {
  size_t n = 0;
  for (const char* s : {a, b})
    for (; s && *s && n + 1 < cap; s++) dst[n++] = *s;
  dst[n] = '\0';
}

void Fail(const char* step, const char* call, const char* detail, const char* detail2) {
  Report r;
  memset(&r, 0, sizeof(r));
  r.kind = Report::kError;
  r.err = errno;
  CopyJoined(r.step, sizeof(r.step), step);
  CopyJoined(r.syscall, sizeof(r.syscall), call);
  CopyJoined(r.detail, sizeof(r.detail), detail, detail2);
  SendReport(r);
  _exit(g_fail_status);
}

void RunChild(const ChildPlan& plan) {
  const PassedFds& fds = plan.fds;
  // Setup runs at the lowered priority it was cloned with (spawn.cc); the command
  // gets the creator's priority back below.
  ResetSignals();
  NewSession();
  syscall(SYS_umask, 0);  // modes of the nodes and dirs we create are exact
  SetupStdio(fds);
  JoinNamespaces(plan);
  JoinCgroups(plan);
  SetupNetwork(plan);
  int fifo = OpenStartFifo(plan);
  SetupMountNamespace(plan);
  // Before the terminal's lookups by name: once nothing of the host's fd table is
  // open, a name inside the pivoted root can only lead inside it.
  CloseOtherFds({ReportFd(), fifo, plan.terminal ? fds.console : -1});
  if (plan.terminal) SetupTerminal(fds.console, true);
  if (syscall(SYS_chdir, plan.cwd.c_str()) < 0) Fail("cwd", "chdir", plan.cwd.c_str());
  // The creator's priority, with a long slice (sched_slice.h); setpriority alone where
  // the kernel has no custom slices.
  // In a user namespace raising it back needs CAP_SYS_NICE of the host's: the parent
  // does it there (spawn.cc), once the init has reported.
  if (!(plan.namespaces.flags & CLONE_NEWUSER) && !SetNiceAndSlice(plan.priority, kContainerSliceNs) &&
      setpriority(PRIO_PROCESS, 0, plan.priority) < 0)
    Fail("priority", "setpriority");
  SeccompProgram sc;
  CapabilitySets caps = AwaitStart(&sc);
  // A notifying filter goes in now, while whoever sent the message still listens for
  // its fd (handshake.h); what the init does after passes through it.
  if (sc.n && (sc.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)) {
    InstallSeccomp(sc);
    sc = SeccompProgram{};
  }
  if (fifo >= 0) AwaitStartFifo(fifo);
  SetRlimits(plan);
  // Before the filter of a no_new_privs container goes in, which may not allow it.
  if (plan.personality >= 0 && syscall(SYS_personality, static_cast<unsigned long>(plan.personality)) < 0)
    Fail("personality", "personality", std::to_string(plan.personality).c_str());
  SetupCredentials(plan, caps, sc);
  // After the uid change, which clears it. Covers the time after start; before start
  // the handshake's EOF does the same job.
  if (plan.die_with_parent && prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
    Fail("parent-death-signal", "prctl");
  SeccompBeforeExec(plan, sc);
  Exec(plan);
}

}  // namespace nsbox
