// The container plan: everything the child needs, serialized before clone.
//
// The TypeScript layer validates and composes the spec; plan_from_js.cc copies the
// result into this structure on the main thread. The init helper receives the
// fields it needs encoded (plan_codec.h); the cgroup and device-rule fields are
// the parent's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nsbox {

struct MountPlan {
  enum Kind { kBind, kTmpfs } kind = kBind;
  std::string source;       // host path for binds, resolved by lib (no symlink in it)
  uint64_t source_dev = 0, source_ino = 0;  // what lib found there: the init checks it opened the same
  std::string destination;  // absolute path inside the rootfs
  bool readonly = false;
  bool recursive = true;
  bool nosuid = false, nodev = false, noexec = false;
  std::string atime;        // "", "relatime", "strictatime" or "noatime"
  std::string propagation;  // binds: "private" or "slave" (of the host's mount)
  std::string tmpfs_mode;   // e.g. "1777"; empty for the default
  std::string tmpfs_size;   // e.g. "64m"; empty for the default
};

// The compiled device policy (lib/policy/devices.ts): a default and exceptions.
struct DeviceException {
  char type = 'c';      // 'b' or 'c'
  int64_t major = -1;   // -1 for '*'
  int64_t minor = -1;   // -1 for '*'
  uint32_t access = 0;  // bit 0 mknod, bit 1 read, bit 2 write (the BPF_DEVCG_ACC_* values)
};
struct DevicePolicy {
  bool default_allow = false;
  std::vector<DeviceException> exceptions;
};
// One line for a v1 devices cgroup, in order.
struct V1Write {
  bool to_allow = true;  // devices.allow, else devices.deny
  std::string rule;
};

struct CapabilitySets {
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

// A device node the init creates in the rootfs (OCI linux.devices).
struct NodePlan {
  std::string path;  // absolute, inside the rootfs
  char type = 'c';
  uint32_t major = 0, minor = 0, mode = 0666, uid = 0, gid = 0;
};

// A resource limit set with prlimit before exec (OCI process.rlimits).
struct RlimitPlan {
  uint32_t resource = 0;  // RLIMIT_*
  uint64_t soft = 0, hard = 0;
};

struct ChildPlan {
  std::string id;

  // Root filesystem: a host directory (resolved by lib, no symlink in it, with the
  // device and inode lib found there), or the host's own "/" made read-only.
  std::string rootfs;
  uint64_t rootfs_dev = 0, rootfs_ino = 0;
  bool host_root = false;
  std::string staging_dir;  // where the new root is assembled inside the child's mount ns

  // What to run. exec_candidates are the absolute paths tried in order (the PATH
  // search is done before clone, inside-root resolution is left to the kernel).
  std::vector<std::string> exec_candidates;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd = "/";

  std::string hostname;  // empty: keep
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> groups;

  uint64_t clone_flags = 0;  // CLONE_NEW* for the namespaces asked for
  // Namespaces joined instead (parent side: opened and checked before clone; the init
  // gets the fds and enters them first).
  struct JoinNamespace {
    uint64_t type;  // CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS or CLONE_NEWCGROUP
    std::string path;
  };
  std::vector<JoinNamespace> join_namespaces;
  bool new_cgroupns = false;  // unshared after joining the cgroups, so the ns root is ours
  bool loopback_up = false;

  std::vector<MountPlan> mounts;
  bool readonly_rootfs = false;
  bool sys_readonly = true;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;

  std::vector<NodePlan> nodes;
  bool no_new_privileges = false;
  bool die_with_parent = true;
  int priority = 0;  // the creator's nice value, which the command gets back before exec

  enum Stdio { kPipe, kInherit, kIgnore } stdio = kPipe;

  std::vector<RlimitPlan> rlimits;
  // sysctls written in the container's own namespaces, through its fresh /proc, as
  // "net/ipv4/ip_forward" -> "1" (lib checks that each is namespaced).
  std::vector<std::string> sysctl_keys, sysctl_values;

  // A container that outlives its creator: the init keeps this FIFO (made by the
  // parent) open and, after the start message, waits for one byte on it from
  // whichever process starts the container.
  std::string exec_fifo;
  // A pty allocated inside the container for the command; its master is sent over
  // the unix socket at console_socket (parent side: connected before clone).
  bool terminal = false;
  std::string console_socket;

  // cgroups
  std::string cgroup_v2_dir;       // empty when the host has no cgroup2 hierarchy
  std::string cgroup_v1_devices;   // empty unless the v1 device backend is used
  bool device_backend_v2 = true;
  DevicePolicy device_policy;      // for the v2 backend
  std::vector<V1Write> v1_writes;  // for the v1 backend
  // Parent side only (not encoded for the init): "<pid> <start time>" of the creating
  // process, written as the cgroups' trusted.nsbox.creator when the container dies
  // with its creator, so that a later sweep removes them only once that process is
  // provably gone. Empty for a detached container.
  std::string creator;
};

// A node made inside a running or created container's mount namespace by the join
// helper (mknodInside, device passthrough).
struct JoinPlan {
  NodePlan node;
  // As the container would: its device cgroup (the caller clones into the cgroup2
  // directory and passes the v1 one), its ids and its capabilities. Otherwise with
  // the runtime's own privileges (device passthrough is the runtime's act).
  bool as_container = false;
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> groups;
  uint64_t caps = 0;  // effective and permitted
};

// A process run inside an existing container (exec): the command fields of `proc`
// (argv, env, cwd, ids, rlimits, terminal, no_new_privileges) with these sets.
struct ExecPlan {
  ChildPlan proc;
  CapabilitySets caps;
  uint64_t setns_flags = 0;  // the namespaces to enter, CLONE_NEW*
  bool detach = false;       // report the pid and leave; else wait and pass the status on
};

// An existing container found by its init's pid (from another process than its creator).
struct AttachTarget {
  int pid = 0;
  std::string cgroup_v2_dir, cgroup_v1_devices;
  bool device_backend_v2 = true;
};

}  // namespace nsbox
