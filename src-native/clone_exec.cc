#include "clone_exec.h"

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// The helper binary, linked in by init_blob.S.
extern "C" const char nsbox_init_blob[];
extern "C" const char nsbox_init_blob_end[];

namespace nsbox {
namespace {

std::once_flag g_helper_once;
int g_helper_fd = -1;
int g_helper_errno = 0;
const char* g_helper_step = "";

void MakeHelperFd() {
  int fd = memfd_create("nsbox-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    g_helper_errno = errno, g_helper_step = "memfd_create";
    return;
  }
  const char* p = nsbox_init_blob;
  size_t left = static_cast<size_t>(nsbox_init_blob_end - nsbox_init_blob);
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      g_helper_errno = errno, g_helper_step = "write";
      close(fd);
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  // Executable by every id: a user namespace's init execs it as the namespace's root,
  // an unprivileged host id that owns nothing (the seals keep it what we wrote).
  if (fchmod(fd, 0555) < 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
    g_helper_errno = errno, g_helper_step = "seal";
    close(fd);
    return;
  }
  g_helper_fd = fd;
}

// Runs in the child, on its own stack, while the parent thread is suspended.
int ChildExec(void* arg) {
  auto* l = static_cast<HelperLaunch*>(arg);
  for (int i = 0; i < l->npass; i++)
    if (l->pass_fds[i] >= 0) syscall(SYS_fcntl, l->pass_fds[i], F_SETFD, 0);
  static char* const no_env[] = {nullptr};
  syscall(SYS_execveat, l->helper_fd, "", l->argv, no_env, AT_EMPTY_PATH);
  l->exec_errno = errno;  // shared memory: the parent reads it once we are gone
  return 127;
}

// The child of a user-namespace clone, on its copy of Node's memory: raw syscalls only
// (glibc's thread bookkeeping describes threads this copy does not have).
int ChildExecMapped(void* arg) {
  auto* l = static_cast<HelperLaunch*>(arg);
  char c = 0;
  long n;
  do n = syscall(SYS_read, l->await_maps_fd, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || c != 'M') return 127;  // the parent could not write the maps, or is gone
  if (l->chdir_first && syscall(SYS_chdir, l->chdir_first) < 0) return 127;
  if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0) return 127;
  return ChildExec(arg);
}

#if defined(__x86_64__)
// clone3 with a function to run on the new stack: the raw syscall returns in the
// child on the fresh stack, so the child's code cannot be a C++ continuation of the
// caller. It calls fn(arg) and exits with its result.
long Clone3Run(struct clone_args* args, int (*fn)(void*), void* arg) {
  long ret;
  register long r8 asm("r8") = reinterpret_cast<long>(fn);
  register long r9 asm("r9") = reinterpret_cast<long>(arg);
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r9, %%rdi\n\t"
      "call *%%r8\n\t"
      "mov %%eax, %%edi\n\t"
      "mov %[exit], %%eax\n\t"
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(static_cast<long>(SYS_clone3)), "D"(args), "S"(sizeof(*args)), "r"(r8), "r"(r9),
        [exit] "i"(SYS_exit)
      : "rcx", "r11", "memory");
  return ret;
}
#else
#error "nsbox: the clone3 trampoline (Clone3Run) is written for x86_64 only"
#endif

constexpr size_t kChildStack = 64 * 1024;
alignas(16) thread_local char t_child_stack[kChildStack];

}  // namespace

int HelperFd(SetupError* err) {
  std::call_once(g_helper_once, MakeHelperFd);
  if (g_helper_fd < 0) err->Set("helper", g_helper_step, "nsbox-init memfd", g_helper_errno);
  return g_helper_fd;
}

namespace {

// fn(arg) in a child on this thread's child stack (shared, or copied without CLONE_VM).
long CloneOnStack(struct clone_args* args, int (*fn)(void*), void* arg) {
  args->stack = reinterpret_cast<uint64_t>(t_child_stack);
  args->stack_size = kChildStack;
  long pid = Clone3Run(args, fn, arg);
  if (pid < 0) {
    errno = static_cast<int>(-pid);
    return -1;
  }
  return pid;
}

}  // namespace

long CloneRun(struct clone_args* args, int (*fn)(void*), void* arg) {
  args->flags |= CLONE_VM | CLONE_VFORK;
  return CloneOnStack(args, fn, arg);
}

long CloneExec(struct clone_args* args, HelperLaunch* launch) {
  launch->exec_errno = 0;
  if (launch->await_maps_fd < 0) return CloneRun(args, ChildExec, launch);
  // A copy of the address space (see HelperLaunch::await_maps_fd): this thread goes on
  // at once; the child runs on its own copy of this thread's child stack.
  return CloneOnStack(args, ChildExecMapped, launch);
}

}  // namespace nsbox
