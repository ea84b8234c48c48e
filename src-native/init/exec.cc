// The exec helper: one more process inside an existing container (runc exec).
//
// The helper enters the container's namespaces through the init's pidfd (one setns
// for all of them; the mount namespace brings the container's root and cwd), and
// its cgroups (it was cloned into the cgroup2 directory; the v1 devices cgroup is
// joined here). Entering a pid namespace only applies to children, so it forks: the
// child takes the command's limits, terminal and credentials and execs; the helper
// learns of the exec through a close-on-exec socket, reports the child's pid, then
// either leaves (detach: the child goes to the nearest subreaper, as with runc) or
// waits and ends the way the child ended.
#include <csignal>
#include <cstring>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "../handshake.h"
#include "../sys.h"
#include "child.h"

namespace nsbox {

[[noreturn]] void RunExec(const ExecPlan& e) {
  const PassedFds& fds = e.proc.fds;
  int target_pidfd = fds.target_pidfd, console = fds.console;
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) Fail("exec-join", "prctl(PR_SET_DUMPABLE)");
  // The command's fds 0..2 first, so nothing opened later lands on them; the child
  // inherits them.
  SetupStdio(fds);
  // Nothing else of the creator's fd table goes along: a non-close-on-exec fd to a host
  // directory would be the command's way out (and, with a cwd of /proc/self/fd/N, its
  // working directory: the CVE-2024-21626 class).
  std::vector<int> keep = {ReportFd(), target_pidfd, console};
  for (const V1Cgroup& v1 : e.cgroup_v1) keep.push_back(v1.procs);
  CloseOtherFds(keep);
  if (setns(target_pidfd, static_cast<int>(e.setns_flags.flags)) < 0) Fail("exec-join", "setns", "the container's namespaces");
  close(target_pidfd);
  for (const V1Cgroup& v1 : e.cgroup_v1) {
    if (write(v1.procs, "0", 1) < 0) Fail("exec-join", "write", v1.dir.c_str(), "/cgroup.procs");
    close(v1.procs);
  }
  // A socket pair, not a pipe: Fail() reports with send(), which a pipe refuses
  // (ENOTSOCK), and a failure of the child was then taken for a successful exec.
  int report[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report) < 0) Fail("exec", "socketpair");
  pid_t child = fork();
  if (child < 0) Fail("exec", "fork");
  if (child == 0) {
    // Failures go to the helper through the socket, which closes at a successful exec.
    close(report[0]);
    SetReportFd(report[1]);
    ResetSignals();
    NewSession();
    if (syscall(SYS_chdir, e.proc.cwd.c_str()) < 0) Fail("cwd", "chdir", e.proc.cwd.c_str());
    if (e.proc.terminal) SetupTerminal(console, false);
    else if (console >= 0) close(console);
    SetRlimits(e.proc);
    const SeccompProgram sc = {e.proc.seccomp.data(), e.proc.seccomp.size(), e.proc.seccomp_flags};
    SetupCredentials(e.proc, e.caps, sc);
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) Fail("exec", "prctl(PR_SET_DUMPABLE)");
    SeccompBeforeExec(e.proc, sc);
    Exec(e.proc);
  }
  close(report[1]);
  if (console >= 0) close(console);
  // The helper holds none of the command's stdio: its pipes end when the command's
  // processes let go of them.
  for (int i = 0; i < 3; i++) close(i);
  Report r;
  int listener = -1;
  ssize_t n = RecvReport(report[0], &r, &listener);
  // A notifying filter's fd, passed on with the child's pid (handshake.h); then the
  // child's next word.
  while (n == static_cast<ssize_t>(sizeof(r)) && r.kind == Report::kListener && listener >= 0) {
    r.pid = child;
    SendReportWithFd(r, listener);
    close(listener);
    char ack = 0;
    // No answer: the parent could not hand the fd on; the child sees our end close.
    if (sys::retry_eintr([&] { return recv(ReportFd(), &ack, 1, 0); }) != 1) _exit(127);
    if (sys::retry_eintr([&] { return send(report[0], &ack, 1, MSG_NOSIGNAL); }) != 1) _exit(127);
    n = RecvReport(report[0], &r, &listener);
  }
  if (listener >= 0) close(listener);
  if (n == static_cast<ssize_t>(sizeof(r))) {
    // The child's own report; pass it on as it is.
    int status;
    sys::retry_eintr([&] { return waitpid(child, &status, 0); });
    errno = r.err;
    Fail(r.step, r.syscall, r.detail);
  }
  ReportSuccess(child);
  if (e.detach) _exit(0);
  int status = 0;
  if (sys::retry_eintr([&] { return waitpid(child, &status, 0); }) < 0) _exit(127);
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  // Ends the way the child ended, so the waiter sees the same signal.
  int sig = WTERMSIG(status);
  signal(sig, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  sigprocmask(SIG_UNBLOCK, &only, nullptr);
  kill(getpid(), sig);
  _exit(128 + sig);
}

}  // namespace nsbox
