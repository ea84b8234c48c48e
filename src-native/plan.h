// The container plan: everything the child needs, serialized before clone.
//
// Each structure is written once, as a field list: C++ type, member, the key of the
// object lib/plan.ts makes, where the field goes, default. The list generates the
// members and a Visit() over them; plan_from_js.cc reads the kJs fields from JS and
// plan_codec.h encodes and decodes the kInit fields for the init helper, both by
// walking Visit(). A new field is one line here, one in lib/plan.ts or lib/native.ts,
// and its use.
#pragma once

#include <sched.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nsbox {

// Where a field goes. kJs: read from the plan object. kInit: encoded for the init
// helper. kFd: an fd number the parent fills in and the helper inherits (every kFd
// field of an encoded plan is passed, and nothing else but SYNC and PLAN: init/main.cc).
enum FieldUse : unsigned { kJs = 1, kInit = 2, kJsInit = kJs | kInit, kPassed = 4, kFd = kInit | kPassed };

#define NSBOX_MEMBER(type, name, key, use, ...) type name = __VA_ARGS__;
#define NSBOX_VISIT(type, name, key, use, ...) v(key, use, s.name);
// The members and Visit(s, v), which calls v(key, use, member) for each field of s.
#define NSBOX_FIELDS(LIST)                               \
  LIST(NSBOX_MEMBER)                                     \
  static constexpr bool kIsPlan = true;                  \
  template <class S, class V>                            \
  static void Visit(S& s, V&& v) {                       \
    LIST(NSBOX_VISIT)                                    \
  }

// The enums of the plan. In JS each value is a name: NamesOf(E) lists them (the
// encoding carries the value, and the decoder accepts only those listed).
enum DevType : char { kCharDev = 'c', kBlockDev = 'b', kFifo = 'p' };  // kFifo: nodes only
enum MountKind { kBind, kTmpfs, kCgroup };
enum V1File { kDevicesDeny, kDevicesAllow };  // which of the v1 devices.* files a line goes to
enum DeviceBackendKind { kDevicesV1, kDevicesV2 };
enum Stdio { kPipe, kInherit, kIgnore };

template <class E>
struct Named {
  const char* name;
  E value;
};
inline constexpr Named<DevType> kDevTypeNames[] = {{"c", kCharDev}, {"b", kBlockDev}, {"p", kFifo}};
inline constexpr Named<MountKind> kMountKindNames[] = {{"bind", kBind}, {"tmpfs", kTmpfs}, {"cgroup", kCgroup}};
inline constexpr Named<V1File> kV1FileNames[] = {{"deny", kDevicesDeny}, {"allow", kDevicesAllow}};
inline constexpr Named<DeviceBackendKind> kBackendNames[] = {{"v1", kDevicesV1}, {"v2", kDevicesV2}};
inline constexpr Named<Stdio> kStdioNames[] = {{"pipe", kPipe}, {"inherit", kInherit}, {"ignore", kIgnore}};
constexpr auto& NamesOf(DevType) { return kDevTypeNames; }
constexpr auto& NamesOf(MountKind) { return kMountKindNames; }
constexpr auto& NamesOf(V1File) { return kV1FileNames; }
constexpr auto& NamesOf(DeviceBackendKind) { return kBackendNames; }
constexpr auto& NamesOf(Stdio) { return kStdioNames; }

// The CLONE_NEW* flag of each namespace lib names.
inline constexpr Named<uint64_t> kNamespaceFlags[] = {
    {"mount", CLONE_NEWNS}, {"pid", CLONE_NEWPID}, {"uts", CLONE_NEWUTS},
    {"ipc", CLONE_NEWIPC},  {"net", CLONE_NEWNET}, {"cgroup", CLONE_NEWCGROUP},
    {"user", CLONE_NEWUSER}};
// A set of namespaces (JS: an array of names) and one namespace (JS: a name).
struct Namespaces {
  uint64_t flags = 0;
};
struct Namespace {
  uint64_t flag = 0;
};


// The fd numbers the parent hands a helper (-1: none); all above 2, so the helper's
// dup2 onto 0..2 never overwrites one.
#define NSBOX_PASSED_FDS(F)                        \
  F(int, stdin_fd, "", kFd, -1)  /* sources for the command's fds 0..2; -1 keeps the helper's own */ \
  F(int, stdout_fd, "", kFd, -1)                   \
  F(int, stderr_fd, "", kFd, -1)                   \
  F(int, v1_procs, "", kFd, -1)  /* join: the v1 devices cgroup's cgroup.procs, for writing */ \
  F(int, console, "", kFd, -1)   /* the connected console socket (terminal) */ \
  F(int, target_pidfd, "", kFd, -1)  /* join and exec: the container's init */ \
  F(int, cgroup_v2, "", kFd, -1)  /* init with a cgroup mount: the container's cgroup2 directory */ \
  /* A user namespace's init is an unprivileged host id, which may not open the FIFO   \
     (the runtime's, mode 0600): the parent opens it as the init would and passes it. */ \
  F(int, start_fifo, "", kFd, -1)
struct PassedFds {
  NSBOX_FIELDS(NSBOX_PASSED_FDS)
};


#define NSBOX_MOUNT_FIELDS(F)                                   \
  F(MountKind, kind, "kind", kJsInit, kBind)                    \
  F(std::string, source, "source", kJsInit, {})  /* host path for binds, resolved by lib (no symlink in it) */ \
  F(uint64_t, source_dev, "sourceDev", kJsInit, 0)  /* what lib found there: the init checks it opened the same */ \
  F(uint64_t, source_ino, "sourceIno", kJsInit, 0)              \
  F(std::string, destination, "destination", kJsInit, {})  /* absolute path inside the rootfs */ \
  F(bool, readonly, "readonly", kJsInit, false)                 \
  F(bool, recursive, "recursive", kJsInit, true)                \
  F(bool, nosuid, "nosuid", kJsInit, false)                     \
  F(bool, nodev, "nodev", kJsInit, false)                       \
  F(bool, noexec, "noexec", kJsInit, false)                     \
  F(std::string, atime, "atime", kJsInit, {})  /* "", "relatime", "strictatime" or "noatime" */ \
  F(std::string, propagation, "propagation", kJsInit, {})  /* binds: "private" or "slave" (of the host's mount) */ \
  F(std::string, tmpfs_mode, "mode", kJsInit, {})  /* e.g. "1777"; empty for the default */ \
  F(std::string, tmpfs_size, "size", kJsInit, {})  /* e.g. "64m"; empty for the default */ \
  F(bool, copy_up, "copyUp", kJsInit, false)  /* tmpfs: starts with a copy of what it covers (tmpcopyup) */ \
  F(bool, idmap, "idmap", kJsInit, false)  /* bind, in a user namespace: idmapped by the parent (handshake.h) */
struct MountPlan {
  NSBOX_FIELDS(NSBOX_MOUNT_FIELDS)
};

// The compiled device policy (lib/policy/devices.ts): a default and exceptions.
#define NSBOX_EXCEPTION_FIELDS(F)                 \
  F(DevType, type, "type", kJs, kCharDev)         \
  F(int64_t, major, "major", kJs, -1)  /* -1 for '*' */ \
  F(int64_t, minor, "minor", kJs, -1)  /* -1 for '*' */ \
  F(uint32_t, access, "access", kJs, 0)  /* bit 0 mknod, bit 1 read, bit 2 write (the BPF_DEVCG_ACC_* values) */
struct DeviceException {
  NSBOX_FIELDS(NSBOX_EXCEPTION_FIELDS)
};
#define NSBOX_POLICY_FIELDS(F)                               \
  F(bool, default_allow, "defaultAllow", kJs, false)         \
  F(std::vector<DeviceException>, exceptions, "exceptions", kJs, {})
struct DevicePolicy {
  NSBOX_FIELDS(NSBOX_POLICY_FIELDS)
};

// One line for a v1 devices cgroup, in order.
#define NSBOX_V1WRITE_FIELDS(F)                      \
  F(V1File, file, "file", kJs, kDevicesAllow)        \
  F(std::string, rule, "rule", kJs, {})
struct V1Write {
  NSBOX_FIELDS(NSBOX_V1WRITE_FIELDS)
};

#define NSBOX_CAPS_FIELDS(F)                                                                        \
  F(uint64_t, bounding, "bounding", kJsInit, 0)                                                     \
  F(uint64_t, effective, "effective", kJsInit, 0) F(uint64_t, permitted, "permitted", kJsInit, 0)   \
  F(uint64_t, inheritable, "inheritable", kJsInit, 0) F(uint64_t, ambient, "ambient", kJsInit, 0)
struct CapabilitySets {
  NSBOX_FIELDS(NSBOX_CAPS_FIELDS)
};

// A device node the init creates in the rootfs (OCI linux.devices).
#define NSBOX_NODE_FIELDS(F)                     \
  F(std::string, path, "path", kJsInit, {})  /* absolute, inside the rootfs */ \
  F(DevType, type, "type", kJsInit, kCharDev)    \
  F(uint32_t, major, "major", kJsInit, 0) F(uint32_t, minor, "minor", kJsInit, 0) \
  F(uint32_t, mode, "mode", kJsInit, 0666)                                        \
  F(uint32_t, uid, "uid", kJsInit, 0) F(uint32_t, gid, "gid", kJsInit, 0)
struct NodePlan {
  NSBOX_FIELDS(NSBOX_NODE_FIELDS)
};

// A resource limit set with prlimit before exec (OCI process.rlimits).
#define NSBOX_RLIMIT_FIELDS(F)                         \
  F(uint32_t, resource, "resource", kJsInit, 0)  /* RLIMIT_* */ \
  F(uint64_t, soft, "soft", kJsInit, 0)                \
  F(uint64_t, hard, "hard", kJsInit, 0)
struct RlimitPlan {
  NSBOX_FIELDS(NSBOX_RLIMIT_FIELDS)
};

// A sysctl written in the container's own namespaces, through its fresh /proc (lib
// checks that each is namespaced).
#define NSBOX_SYSCTL_FIELDS(F)                      \
  F(std::string, path, "path", kJsInit, {})  /* below /proc/sys, e.g. "net/ipv4/ip_forward" */ \
  F(std::string, value, "value", kJsInit, {})
struct SysctlPlan {
  NSBOX_FIELDS(NSBOX_SYSCTL_FIELDS)
};

// A namespace joined instead of made: the parent opens the path and checks it before
// clone; the init gets the fd and enters it first.
#define NSBOX_JOIN_NS_FIELDS(F)                   \
  F(Namespace, type, "type", kJsInit, {})         \
  F(std::string, path, "path", kJs, {})           \
  F(int, fd, "", kFd, -1)
struct JoinNamespace {
  NSBOX_FIELDS(NSBOX_JOIN_NS_FIELDS)
};

// A v1 hierarchy's directory the container's processes join (memory, pids, cpu... and
// devices on the v1 backend): made by the parent, joined by each process with "0"
// written to its cgroup.procs, whose fd the parent opens and the helper inherits.
#define NSBOX_V1_CGROUP_FIELDS(F)                 \
  F(std::string, dir, "dir", kJsInit, {})         \
  F(std::string, name, "name", kJsInit, {})  /* the hierarchy's name under /sys/fs/cgroup ("memory", "cpu,cpuacct") */ \
  F(int, procs, "", kFd, -1)                      \
  F(int, dir_fd, "", kFd, -1)  /* init with a cgroup mount: the directory, for its view */
struct V1Cgroup {
  NSBOX_FIELDS(NSBOX_V1_CGROUP_FIELDS)
};

// A resource limit (or a controller enabled for a child) written by the parent into a
// directory of the container's, or one above it, before the init is cloned: paths lib
// computed from the host's mounts and the container's cgroup path, in order.
#define NSBOX_CGROUP_WRITE_FIELDS(F)              \
  F(std::string, path, "path", kJs, {})           \
  F(std::string, value, "value", kJs, {})
struct CgroupWrite {
  NSBOX_FIELDS(NSBOX_CGROUP_WRITE_FIELDS)
};


// What to run: shared by a container's plan and an exec plan. exec_candidates are the
// absolute paths tried in order (the PATH search is done before clone, inside-root
// resolution is left to the kernel).
#define NSBOX_COMMAND_FIELDS(F)                                          \
  F(std::vector<std::string>, exec_candidates, "execCandidates", kJsInit, {}) \
  F(std::vector<std::string>, argv, "argv", kJsInit, {})                 \
  F(std::vector<std::string>, env, "env", kJsInit, {})                   \
  F(std::string, cwd, "cwd", kJsInit, "/")                               \
  F(uint32_t, uid, "uid", kJsInit, 0)                                    \
  F(uint32_t, gid, "gid", kJsInit, 0)                                    \
  F(std::vector<uint32_t>, groups, "groups", kJsInit, {})                \
  F(bool, no_new_privileges, "noNewPrivileges", kJsInit, false)          \
  F(uint32_t, umask, "umask", kJsInit, 022)  /* the command's */         \
  F(std::vector<RlimitPlan>, rlimits, "rlimits", kJsInit, {})            \
  F(bool, terminal, "terminal", kJsInit, false)  /* a pty allocated inside the container */ \
  F(std::string, console_socket, "consoleSocket", kJs, {})  /* where its master goes; connected by the parent */ \
  F(int, priority, "priority", kJsInit, 0)  /* the creator's nice value, which the command gets back before exec */ \
  F(Stdio, stdio, "stdio", kJsInit, kPipe)                               \
  /* The syscall filter lib compiled (policy/seccomp.ts), two words per classic BPF \
     instruction: code | jt << 16 | jf << 24, then k. Empty: no filter. */     \
  F(std::vector<uint32_t>, seccomp, "seccomp", kJsInit, {})              \
  F(uint32_t, seccomp_flags, "seccompFlags", kJsInit, 0)  /* SECCOMP_FILTER_FLAG_* */ \
  /* A notifying filter's listener socket (the parent connects), and what it is sent  \
     with the fd: head, the process's pid, tail (handshake.h). */                   \
  F(std::string, seccomp_listener_path, "seccompListenerPath", kJs, {})            \
  F(std::string, seccomp_listener_head, "seccompListenerHead", kJs, {})            \
  F(std::string, seccomp_listener_tail, "seccompListenerTail", kJs, {})            \
  F(PassedFds, fds, "", kInit, {})

// The rest of a container's plan. The root filesystem is a host directory (resolved by
// lib, no symlink in it, with the device and inode lib found there), or the host's own
// "/" made read-only. Namespaces: CLONE_NEW* of those asked for; the cgroup namespace
// is unshared by the init after it joined its cgroups, so the ns root is ours.
#define NSBOX_CONTAINER_FIELDS(F)                                          \
  F(std::string, id, "id", kJsInit, {})                                    \
  F(std::string, rootfs, "rootfs", kJsInit, {})                            \
  F(uint64_t, rootfs_dev, "rootfsDev", kJsInit, 0)                         \
  F(uint64_t, rootfs_ino, "rootfsIno", kJsInit, 0)                         \
  F(bool, host_root, "hostRoot", kJsInit, false)                           \
  F(std::string, staging_dir, "stagingDir", kJsInit, {})  /* where the host's read-only root is assembled in the child's mount ns; a rootfs directory is assembled in place */ \
  /* Pause before pivot_root for the runtime's hooks (handshake.h: kHooks). */ \
  F(bool, hooks_pause, "hooksPause", kJsInit, false)                       \
  F(std::string, hostname, "hostname", kJsInit, {})  /* empty: keep */     \
  F(std::string, domainname, "domainname", kJsInit, {})  /* empty: keep */ \
  F(int, personality, "personality", kJsInit, -1)  /* PER_*; -1: keep */  \
  F(Namespaces, namespaces, "namespaces", kJsInit, {})                     \
  F(std::vector<JoinNamespace>, join_namespaces, "joinNamespaces", kJsInit, {}) \
  /* With "user" in namespaces: the maps the parent writes to /proc/<pid>/uid_map and \
     gid_map right after the clone, before the child execs nsbox-init (clone_exec.h). */ \
  F(std::string, uid_map, "uidMap", kJsInit, {})                           \
  F(std::string, gid_map, "gidMap", kJsInit, {})                           \
  F(int, devpts_gid, "devptsGid", kJsInit, 5)  /* the tty group of /dev/pts; -1: none (not mapped) */ \
  /* A user namespace's directory rootfs through an idmapped mount (the parent makes it \
     for the child's namespace and sends it after the maps: handshake.h). */           \
  F(bool, idmap_rootfs, "idmapRootfs", kJsInit, false)                     \
  F(bool, loopback_up, "loopbackUp", kJsInit, false)                       \
  F(std::vector<MountPlan>, mounts, "mounts", kJsInit, {})                 \
  F(bool, readonly_rootfs, "readonlyRootfs", kJsInit, false)               \
  F(std::string, rootfs_propagation, "rootfsPropagation", kJsInit, {}) /* OCI's word; "rslave" when empty */ \
  F(bool, sys_readonly, "sysReadonly", kJsInit, true)                      \
  F(std::vector<std::string>, masked_paths, "maskedPaths", kJsInit, {})    \
  F(std::vector<std::string>, readonly_paths, "readonlyPaths", kJsInit, {}) \
  F(std::vector<NodePlan>, nodes, "nodes", kJsInit, {})                    \
  F(bool, die_with_parent, "dieWithParent", kJsInit, true)                 \
  F(std::vector<SysctlPlan>, sysctls, "sysctl", kJsInit, {})               \
  /* A container that outlives its creator: the init keeps this FIFO (made by the  \
     parent) open and, after the start message, waits for one byte on it from     \
     whichever process starts the container. */                            \
  F(std::string, start_fifo, "startFifo", kJsInit, {})                     \
  F(std::optional<int>, oom_score_adj, "oomScoreAdj", kJsInit, std::nullopt)  /* null: the creator's */ \
  F(std::string, cgroup_v2_dir, "cgroupV2Dir", kJsInit, {})  /* empty when the host has no cgroup2 hierarchy */ \
  F(std::string, cgroup_v1_devices, "cgroupV1Devices", kJsInit, {})  /* empty unless the v1 device backend is used */ \
  F(std::vector<V1Cgroup>, cgroup_v1, "cgroupV1", kJsInit, {})  /* every v1 directory the init joins, the devices one included */ \
  F(std::vector<CgroupWrite>, cgroup_writes, "cgroupWrites", kJs, {})  /* limits, written before the clone */ \
  F(DeviceBackendKind, device_backend, "deviceBackend", kJs, kDevicesV2)   \
  F(DevicePolicy, device_policy, "devicePolicy", kJs, {})  /* for the v2 backend */ \
  F(std::vector<V1Write>, v1_writes, "v1Writes", kJs, {})  /* for the v1 backend */ \
  /* "<pid> <start time>" of the creating process, written as the cgroups'          \
     trusted.nsbox.creator when the container dies with its creator, so that a     \
     later sweep removes them only once that process is provably gone. Empty for a \
     detached container. */                                                \
  F(std::string, creator, "creator", kJs, {})

#define NSBOX_CHILD_FIELDS(F) NSBOX_COMMAND_FIELDS(F) NSBOX_CONTAINER_FIELDS(F)
struct ChildPlan {
  NSBOX_FIELDS(NSBOX_CHILD_FIELDS)
};

// A node made inside a created or running container's mount namespace (mknodInside,
// device passthrough). `as_container`: as the container would, with its device cgroup
// (the caller clones into the cgroup2 directory and passes the v1 one), its ids and
// its capabilities (`caps`, effective and permitted); otherwise with the runtime's
// own privileges (device passthrough is the runtime's act).
#define NSBOX_JOIN_FIELDS(F)                               \
  F(NodePlan, node, "node", kJsInit, {})                   \
  F(bool, as_container, "asContainer", kJsInit, false)     \
  F(uint32_t, uid, "uid", kJsInit, 0)                      \
  F(uint32_t, gid, "gid", kJsInit, 0)                      \
  F(std::vector<uint32_t>, groups, "groups", kJsInit, {})  \
  F(uint64_t, caps, "caps", kJsInit, 0)                    \
  /* A container with a user namespace, where no node can be made: the host's node at \
     this path is bound at node.path instead (the runtime's passthrough only). */      \
  F(std::string, bind_host, "bindHost", kJsInit, {})       \
  F(PassedFds, fds, "", kInit, {})
struct JoinPlan {
  NSBOX_FIELDS(NSBOX_JOIN_FIELDS)
};

// A process run inside an existing container (exec): the command fields of `proc` with
// these sets. It enters all of the init's namespaces, its own and those it joined:
// entering one it shares with us changes nothing.
#define NSBOX_EXEC_FIELDS(F)                                                       \
  F(CapabilitySets, caps, "caps", kJsInit, {})                                     \
  F(bool, detach, "detach", kJsInit, false)  /* report the pid and leave; else wait and pass the status on */ \
  F(bool, join_user, "joinUser", kJs, false)  /* the container's user namespace is entered too (never our own: setns refuses that) */ \
  F(Namespaces, setns_flags, "", kInit,                                            \
    {CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP}) \
  F(std::vector<V1Cgroup>, cgroup_v1, "", kInit, {})  /* filled by the parent: the container's v1 directories */
#define NSBOX_VISIT_PROC(type, name, key, use, ...) v(key, use, s.proc.name);
struct ExecPlan {
  ChildPlan proc;  // only its command fields are read and encoded
  NSBOX_EXEC_FIELDS(NSBOX_MEMBER)
  static constexpr bool kIsPlan = true;
  template <class S, class V>
  static void Visit(S& s, V&& v) {
    NSBOX_COMMAND_FIELDS(NSBOX_VISIT_PROC)
    NSBOX_EXEC_FIELDS(NSBOX_VISIT)
  }
};

// An existing container found by its init's pid (from another process than its creator).
#define NSBOX_ATTACH_FIELDS(F)                                             \
  F(int, pid, "pid", kJs, 0)                                               \
  F(std::string, cgroup_v2_dir, "cgroupV2Dir", kJs, {})                    \
  F(std::string, cgroup_v1_devices, "cgroupV1Devices", kJs, {})            \
  F(std::vector<std::string>, cgroup_v1, "cgroupV1", kJs, {})  /* every v1 directory, the devices one included */ \
  F(DeviceBackendKind, device_backend, "deviceBackend", kJs, kDevicesV2)   \
  F(bool, pid_namespace, "pidNamespace", kJs, false)  /* the init leads a pid namespace of its own */
struct AttachTarget {
  NSBOX_FIELDS(NSBOX_ATTACH_FIELDS)
};

}  // namespace nsbox
