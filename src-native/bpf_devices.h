// cgroup2 device policy: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the rules.
//
// Semantics (the same as lib/policy/devices.ts evaluates): default deny; for each
// requested access bit the LAST rule that matches the device and names that bit
// decides allow or deny; an access is allowed when every requested bit is.
//
// Layout: r2 = type, r3 = requested access, r4 = major, r5 = minor, r6 = allowed
// bits, r7 = decided bits. One block per rule, last rule first:
//   if type/major/minor differ: skip block
//   r8 = r3 & ~r7 & rule_access          (requested, undecided, named by the rule)
//   allow rule: r6 |= r8;   r7 |= r8
// Finally return r6 == r3.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "plan.h"
#include "setup_error.h"

namespace nsbox {

std::vector<struct bpf_insn> BuildDeviceProgram(const std::vector<DeviceRule>& rules);

// Loads the program for `rules`; returns its fd (close-on-exec) or -1.
int LoadDeviceProgram(const std::vector<DeviceRule>& rules, SetupError* err);

// Attaches `prog` to the cgroup2 directory `cgroup_fd`. With `replace` >= 0 the old
// program is swapped atomically (BPF_F_REPLACE), so no access allowed by both the
// old and the new program is ever denied in between.
bool AttachDeviceProgram(int cgroup_fd, int prog, int replace, const std::string& where,
                         SetupError* err);

}  // namespace nsbox
