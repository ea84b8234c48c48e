// cgroup2 device policy: a BPF_PROG_TYPE_CGROUP_DEVICE program that decides from the
// compiled policy (lib/policy/devices.ts), which is the kernel's v1 semantics.
//
// The exceptions live in a BPF hash map keyed by (type, major, minor), -1 standing
// for '*'; the program holds only the default. For a request on (t, M, m) it looks
// up the four keys that can match, (t,M,m), (t,M,*), (t,*,m) and (t,*,*), and
//   deny-by-default:  allows if one of them grants every requested bit;
//   allow-by-default: denies if one of them takes any requested bit;
// else it returns the default. A change of one exception is one map update, atomic
// for every open() after it; anything larger (the default flips, several keys change)
// loads a new program with a new map and swaps it in with BPF_F_REPLACE.
//
// Registers: r6 the context, r7 the requested access, r8 major, r9 minor (callee-
// saved across the lookups); the key is built on the stack at fp-16.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "plan.h"
#include "setup_error.h"

namespace nsbox {

// A loaded program and the map of exceptions it reads.
struct DeviceProgram {
  int prog = -1;
  int map = -1;
};

std::vector<struct bpf_insn> BuildDeviceProgram(bool default_allow, int map_fd);

// Creates and fills the map, loads the program (fds close-on-exec). On failure
// nothing stays open.
bool LoadDeviceProgram(const DevicePolicy& policy, DeviceProgram* out, SetupError* err);

// One exception set in place in the map (access 0 removes it).
bool SetDeviceException(int map_fd, const DeviceException& e, const std::string& where, SetupError* err);

// Attaches `prog` to the cgroup2 directory `cgroup_fd`. With `replace` >= 0 the old
// program is swapped atomically (BPF_F_REPLACE), so no access allowed by both the
// old and the new program is ever denied in between.
bool AttachDeviceProgram(int cgroup_fd, int prog, int replace, const std::string& where,
                         SetupError* err);

void CloseDeviceProgram(DeviceProgram* p);

// The cgroup2 backend of device_backend.h is NewBpfDevices().

}  // namespace nsbox
