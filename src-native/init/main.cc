// nsbox-init's fd contract (the one place it is written down):
//
//   nsbox-init MODE SYNC PLAN
//
// MODE is "init" (a container's init, child.cc), "join" (one node inside a container,
// join.cc) or "exec" (one process inside a container, exec.cc). SYNC is the helper's
// end of a SOCK_SEQPACKET socketpair, where it sends its Reports (handshake.h); PLAN a
// memfd holding the encoded ChildPlan, JoinPlan or ExecPlan (plan_codec.h). Every other
// fd the helper inherits is named in the plan, as a kFd field (plan.h: PassedFds and
// the joined namespaces' fds), and the parent passes exactly those (spawn.cc,
// LaunchHelper), plus its own fds 0..2 for stdio 'inherit'. Every fd number is above 2,
// so the helper's dup2 onto 0..2 overwrites none of them. They reach the helper
// without close-on-exec (cleared in the child's copy of the fd table only): SYNC is
// made close-on-exec again here, so that it closes at the command's execve, the
// plan's memfd is closed once read, and the init and the exec helper close every
// other fd before anything of the container's runs (CloseOtherFds).
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

template <class P>
P ReadPlan(int fd) {
  std::string bytes;
  P plan;
  if (!ReadAll(fd, &bytes) || !nsbox::DecodePlan(bytes.data(), bytes.size(), &plan)) {
    errno = EPROTO;
    nsbox::Fail("plan", "read", "the encoded plan is truncated or malformed");
  }
  return plan;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return 126;
  int sync = FdArg(argv[2]);
  fcntl(sync, F_SETFD, FD_CLOEXEC);
  nsbox::SetReportFd(sync);
  std::string mode = argv[1];
  int plan = FdArg(argv[3]);
  if (mode == "join") return nsbox::RunJoin(ReadPlan<nsbox::JoinPlan>(plan)), 0;
  if (mode == "exec") nsbox::RunExec(ReadPlan<nsbox::ExecPlan>(plan));
  if (mode == "init") nsbox::RunChild(ReadPlan<nsbox::ChildPlan>(plan));
  return 126;
}
