// cgroup2 device policy: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the
// compiled policy (lib/policy/devices.ts), which is the kernel's v1 semantics.
//
// Context: r1 points to struct bpf_cgroup_dev_ctx { access_type, major, minor }, with
// access_type = (access << 16) | type. The program loads r2 = type, r3 = requested
// access, r4 = major, r5 = minor, then one block per exception:
//   if type, major or minor (unless '*') differ: skip the block
//   deny-by-default:  if (r3 & ~access) == 0: return 1   (one exception covers it all)
//   allow-by-default: if (r3 & access) != 0: return 0    (any overlap denies)
// and after the last block returns the default.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "plan.h"
#include "setup_error.h"

namespace nsbox {

std::vector<struct bpf_insn> BuildDeviceProgram(const DevicePolicy& policy);

// Loads the program for `policy`; returns its fd (close-on-exec) or -1.
int LoadDeviceProgram(const DevicePolicy& policy, SetupError* err);

// Attaches `prog` to the cgroup2 directory `cgroup_fd`. With `replace` >= 0 the old
// program is swapped atomically (BPF_F_REPLACE), so no access allowed by both the
// old and the new program is ever denied in between.
bool AttachDeviceProgram(int cgroup_fd, int prog, int replace, const std::string& where,
                         SetupError* err);

// The device program attached to `cgroup_fd` (for a container created by another
// process): its fd, -1 with err filled on failure, or -1 with err untouched when
// none is attached. Our containers carry exactly one.
int AttachedDeviceProgram(int cgroup_fd, const std::string& where, SetupError* err);

}  // namespace nsbox
