// One fd passed over a unix socket (SCM_RIGHTS) with a message: a filter's listener fd
// on its way from the process that installed it to the runtime and on to the
// listener (handshake.h). Used by the parent and by the helpers alike.
#pragma once

#include <cstring>
#include <sys/socket.h>

#include "sys.h"

namespace nsbox {

// Sends `len` bytes of `buf` with `fd` attached, as one message. Returns what sendmsg did.
inline ssize_t SendWithFd(int sock, const void* buf, size_t len, int fd) {
  struct iovec iov = {const_cast<void*>(buf), len};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof(control));
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sys::retry_eintr([&] { return sendmsg(sock, &msg, MSG_NOSIGNAL); });
}

// Receives one message into `buf` and the fd attached to it, close-on-exec (-1 when
// none came). Returns what recvmsg did.
inline ssize_t RecvWithFd(int sock, void* buf, size_t len, int* fd) {
  *fd = -1;
  struct iovec iov = {buf, len};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = sys::retry_eintr([&] { return recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); });
  for (struct cmsghdr* c = n >= 0 ? CMSG_FIRSTHDR(&msg) : nullptr; c; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
      memcpy(fd, CMSG_DATA(c), sizeof(int));
  return n;
}

}  // namespace nsbox
