// nsbox-init: argv is "nsbox-init SYNC PLAN STDIN STDOUT STDERR V1PROCS", each an fd
// number (-1 for none). The plan fd holds the encoded ChildPlan (plan_codec.h).
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "../plan_codec.h"
#include "child.h"

namespace {

int FdArg(const char* s) { return static_cast<int>(strtol(s, nullptr, 10)); }

bool ReadPlan(int fd, nsbox::ChildPlan* plan) {
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
  return nsbox::DecodePlan(buf.data(), buf.size(), plan);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) return 126;
  nsbox::ChildFds fds;
  fds.sync = FdArg(argv[1]);
  // Inherited without close-on-exec; it must close at the user's exec, which is how
  // the parent learns that exec succeeded.
  fcntl(fds.sync, F_SETFD, FD_CLOEXEC);
  nsbox::SetReportFd(fds.sync);
  for (int i = 0; i < 3; i++) fds.stdio[i] = FdArg(argv[3 + i]);
  fds.cgroup_v1_procs = FdArg(argv[6]);
  nsbox::ChildPlan plan;
  if (!ReadPlan(FdArg(argv[2]), &plan)) {
    errno = EPROTO;
    nsbox::Fail("plan", "read", "the encoded plan is truncated or malformed");
  }
  nsbox::RunChild(plan, fds);
}
