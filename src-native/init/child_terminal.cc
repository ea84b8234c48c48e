// The container's terminal (OCI process.terminal).
//
// The pty comes from the container's own devpts instance, so its slave is a node the
// container can see and its device cgroup must allow (c 136:*). The master leaves
// through the console socket (SCM_RIGHTS) to whoever asked for the terminal, the way
// runc's callers (containerd's shim) expect it; the slave becomes the controlling
// terminal and fds 0..2 of the command.
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "../sys.h"
#include "child.h"

namespace nsbox {
namespace {

void SendMaster(int console, int master) {
  char name[] = "/dev/ptmx";
  struct iovec iov = {name, sizeof(name) - 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof(control));
  struct msghdr msg;
  memset(&msg, 0, sizeof(msg));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &master, sizeof(int));
  if (sys::retry_eintr([&] { return sendmsg(console, &msg, MSG_NOSIGNAL); }) < 0)
    Fail("terminal", "sendmsg", "console socket");
}

// /dev/console becomes the pty's slave; checked by rdev afterwards.
void BindConsole(int slave, int ptn) {
  char pts[32];
  snprintf(pts, sizeof(pts), "/dev/pts/%d", ptn);
  int f = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (f < 0) Fail("terminal", "open", "/dev/console");
  close(f);
  if (sys::mount(pts, "/dev/console", nullptr, MS_BIND, nullptr) < 0) Fail("terminal", "mount", pts);
  struct stat want, got;
  if (fstat(slave, &want) < 0 || stat("/dev/console", &got) < 0) Fail("terminal", "stat", "/dev/console");
  if (!S_ISCHR(got.st_mode) || got.st_rdev != want.st_rdev) {
    errno = EIO;
    Fail("terminal", "verify-console", "/dev/console");
  }
}

}  // namespace

void SetupTerminal(int console, bool bind_console) {
  if (console < 0) {
    errno = EBADF;
    Fail("terminal", "console-socket", "a terminal needs a console socket");
  }
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) Fail("terminal", "open", "/dev/ptmx");
  int unlock = 0, ptn = -1;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) Fail("terminal", "ioctl(TIOCSPTLCK)", "/dev/ptmx");
  if (ioctl(master, TIOCGPTN, &ptn) < 0) Fail("terminal", "ioctl(TIOCGPTN)", "/dev/ptmx");
  // The slave through the master, not by path: nothing in the rootfs can substitute it.
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) Fail("terminal", "ioctl(TIOCGPTPEER)", "/dev/ptmx");
  if (bind_console) BindConsole(slave, ptn);
  SendMaster(console, master);
  close(master);
  close(console);
  // The caller made us a session leader (NewSession), as TIOCSCTTY needs.
  if (ioctl(slave, TIOCSCTTY, 0) < 0) Fail("terminal", "ioctl(TIOCSCTTY)");
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) Fail("terminal", "dup2");
  if (slave > 2) close(slave);
}

}  // namespace nsbox
