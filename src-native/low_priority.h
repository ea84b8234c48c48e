// Container setup and teardown are kernel-heavy (namespace creation in clone, mounts
// in the init, cgroup removal) and compete for the CPU with the Node process that
// asked for them. The worker thread doing them, and the init it clones, work at a
// lower priority so that the event loop keeps its turn; the command itself gets the
// creator's priority back (ChildPlan::priority).
#pragma once

#include <sys/resource.h>

namespace nsbox {

class LowPriority {
 public:
  explicit LowPriority(int base) : base_(base) {
    lowered_ = setpriority(PRIO_PROCESS, 0, base + kSetupNiceness > 19 ? 19 : base + kSetupNiceness) == 0;
  }
  ~LowPriority() {
    if (lowered_) setpriority(PRIO_PROCESS, 0, base_);  // per thread on Linux
  }

 private:
  static constexpr int kSetupNiceness = 10;
  int base_;
  bool lowered_;
};

}  // namespace nsbox
