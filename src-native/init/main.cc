// nsbox-init, three modes; every argument is an fd number (-1 for none):
//   nsbox-init SYNC PLAN STDIN STDOUT STDERR V1PROCS CONSOLE JOIN   a container's init (child.cc);
//                                                    JOIN is "-" or "CLONE_NEW*:fd,..." to setns first
//   nsbox-init join SYNC PLAN TARGET_PIDFD V1PROCS             one node inside a container (join.cc)
//   nsbox-init exec SYNC PLAN TARGET_PIDFD V1PROCS CONSOLE STDIN STDOUT STDERR
//                                                    one process inside a container (exec.cc)
// PLAN holds the encoded ChildPlan, JoinPlan or ExecPlan (plan_codec.h).
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "../plan_codec.h"
#include "child.h"

namespace {

int FdArg(const char* s) { return static_cast<int>(strtol(s, nullptr, 10)); }

bool ReadAll(int fd, std::string* out) {
  struct stat st;
  if (fstat(fd, &st) < 0) return false;
  std::string buf(static_cast<size_t>(st.st_size), '\0');
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t n = pread(fd, &buf[off], buf.size() - off, static_cast<off_t>(off));
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  close(fd);
  *out = std::move(buf);
  return true;
}

[[noreturn]] void BadPlan() {
  errno = EPROTO;
  nsbox::Fail("plan", "read", "the encoded plan is truncated or malformed");
}

int Join(char** argv) {
  int sync = FdArg(argv[2]);
  fcntl(sync, F_SETFD, FD_CLOEXEC);
  nsbox::SetReportFd(sync);
  std::string bytes;
  nsbox::JoinPlan plan;
  if (!ReadAll(FdArg(argv[3]), &bytes) || !nsbox::DecodeJoin(bytes.data(), bytes.size(), &plan)) BadPlan();
  nsbox::RunJoin(plan, FdArg(argv[4]), FdArg(argv[5]));
  return 0;
}

int Exec(char** argv) {
  int sync = FdArg(argv[2]);
  fcntl(sync, F_SETFD, FD_CLOEXEC);
  nsbox::SetReportFd(sync);
  std::string bytes;
  nsbox::ExecPlan plan;
  if (!ReadAll(FdArg(argv[3]), &bytes) || !nsbox::DecodeExec(bytes.data(), bytes.size(), &plan)) BadPlan();
  int stdio[3] = {FdArg(argv[7]), FdArg(argv[8]), FdArg(argv[9])};
  nsbox::RunExec(plan, FdArg(argv[4]), FdArg(argv[5]), FdArg(argv[6]), stdio);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 6 && std::string(argv[1]) == "join") return Join(argv);
  if (argc == 10 && std::string(argv[1]) == "exec") return Exec(argv);
  if (argc != 9) return 126;
  nsbox::ChildFds fds;
  fds.sync = FdArg(argv[1]);
  // Inherited without close-on-exec; it must close at the user's exec, which is how
  // the parent learns that exec succeeded.
  fcntl(fds.sync, F_SETFD, FD_CLOEXEC);
  nsbox::SetReportFd(fds.sync);
  for (int i = 0; i < 3; i++) fds.stdio[i] = FdArg(argv[3 + i]);
  fds.cgroup_v1_procs = FdArg(argv[6]);
  fds.console = FdArg(argv[7]);
  for (const char* p = argv[8]; *p && *p != '-';) {
    char* end;
    uint64_t type = strtoull(p, &end, 10);
    if (*end != ':') break;
    int fd = static_cast<int>(strtol(end + 1, &end, 10));
    fds.join_namespaces.push_back({type, fd});
    p = *end == ',' ? end + 1 : end;
  }
  nsbox::ChildPlan plan;
  std::string bytes;
  if (!ReadAll(FdArg(argv[2]), &bytes) || !nsbox::DecodePlan(bytes.data(), bytes.size(), &plan)) BadPlan();
  nsbox::RunChild(plan, fds);
}
