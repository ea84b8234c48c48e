// Container setup and teardown are kernel-heavy (namespace creation in clone, mounts
// in the init, cgroup removal) and compete for the CPU with the Node process that
// asked for them. The worker thread doing them, and the init it clones, work at a
// lower priority so that the event loop keeps its turn; the command itself gets the
// creator's priority back (ChildPlan::priority).
#pragma once

#include <sys/resource.h>

#include "sched_slice.h"

namespace nsbox {

class LowPriority {
 public:
  explicit LowPriority(int base) : base_(base) {
    int low = base + kSetupNiceness > 19 ? 19 : base + kSetupNiceness;
    sliced_ = SetNiceAndSlice(low, kContainerSliceNs);
    lowered_ = sliced_ || setpriority(PRIO_PROCESS, 0, low) == 0;
  }
  ~LowPriority() {
    // Per thread on Linux: the worker goes back to what it was.
    if (sliced_) SetNiceAndSlice(base_, 0);
    else if (lowered_) setpriority(PRIO_PROCESS, 0, base_);
  }

 private:
  static constexpr int kSetupNiceness = 10;
  int base_;
  bool lowered_, sliced_;
};

}  // namespace nsbox
