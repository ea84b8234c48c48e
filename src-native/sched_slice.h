// EEVDF's per-task slice (sched_attr.sched_runtime for SCHED_OTHER, Linux 6.12+).
//
// A task with a longer slice gets a later virtual deadline, so a task that wakes with
// the default slice (the creator's event loop) is picked before it, while the CPU
// share, which only the nice weight decides, stays the same. Container work (setup
// on our workers and in the init, then the command and whatever it forks) runs with
// a long slice: on a loaded machine the event loop that drives the containers gets
// its turn first, without taking CPU time from them. Older kernels ignore the
// runtime (or refuse the call, which is ignored here).
#pragma once

#include <cstdint>
#include <sys/syscall.h>
#include <unistd.h>

namespace nsbox {

constexpr uint64_t kContainerSliceNs = 20 * 1000 * 1000;

// Sets the calling thread's nice value and slice (0: the kernel's default), keeping
// its policy. Returns false when the kernel refused.
inline bool SetNiceAndSliceOf(int pid, int nice, uint64_t slice_ns) {
  struct {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
  } attr = {};
  attr.size = sizeof(attr);
  attr.flags = 0x08;  // SCHED_FLAG_KEEP_POLICY
  attr.nice = nice;
  attr.runtime = slice_ns;
  return syscall(SYS_sched_setattr, pid, &attr, 0) == 0;
}

inline bool SetNiceAndSlice(int nice, uint64_t slice_ns) { return SetNiceAndSliceOf(0, nice, slice_ns); }

}  // namespace nsbox
