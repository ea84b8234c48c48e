#include "plan_from_js.h"

#include <sched.h>

namespace nsbox {
namespace {

Napi::Value Field(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) throw Napi::TypeError::New(o.Env(), std::string("plan.") + name + " is missing");
  return v;
}
std::string Str(const Napi::Object& o, const char* name) {
  Napi::Value v = Field(o, name);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("plan.") + name + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}
bool Bool(const Napi::Object& o, const char* name) { return Field(o, name).ToBoolean().Value(); }
int64_t Int(const Napi::Object& o, const char* name) {
  Napi::Value v = Field(o, name);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("plan.") + name + " must be a number");
  return v.As<Napi::Number>().Int64Value();
}
uint64_t U64(const Napi::Object& o, const char* name) {
  Napi::Value v = Field(o, name);
  if (!v.IsBigInt()) throw Napi::TypeError::New(o.Env(), std::string("plan.") + name + " must be a bigint");
  bool lossless = true;
  return v.As<Napi::BigInt>().Uint64Value(&lossless);
}
Napi::Array Arr(const Napi::Object& o, const char* name) {
  Napi::Value v = Field(o, name);
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string("plan.") + name + " must be an array");
  return v.As<Napi::Array>();
}
std::vector<uint32_t> Uint32s(const Napi::Object& o, const char* name) {
  Napi::Array a = Arr(o, name);
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::Number>().Uint32Value());
  return out;
}
std::vector<std::string> Strings(const Napi::Object& o, const char* name) {
  Napi::Array a = Arr(o, name);
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).ToString().Utf8Value());
  return out;
}

uint64_t NamespaceFlag(const std::string& ns) {
  if (ns == "mount") return CLONE_NEWNS;
  if (ns == "pid") return CLONE_NEWPID;
  if (ns == "uts") return CLONE_NEWUTS;
  if (ns == "ipc") return CLONE_NEWIPC;
  if (ns == "net") return CLONE_NEWNET;
  return 0;  // "cgroup" is unshared by the child after it joined its cgroups
}

NodePlan NodeFromJs(const Napi::Object& n) {
  NodePlan np;
  np.path = Str(n, "path");
  np.type = Str(n, "type") == "b" ? 'b' : 'c';
  np.major = static_cast<uint32_t>(Int(n, "major"));
  np.minor = static_cast<uint32_t>(Int(n, "minor"));
  np.mode = static_cast<uint32_t>(Int(n, "mode"));
  np.uid = static_cast<uint32_t>(Int(n, "uid"));
  np.gid = static_cast<uint32_t>(Int(n, "gid"));
  return np;
}

}  // namespace

JoinPlan JoinFromJs(const Napi::Object& o) {
  JoinPlan j;
  j.node = NodeFromJs(Field(o, "node").As<Napi::Object>());
  j.as_container = Bool(o, "asContainer");
  j.uid = static_cast<uint32_t>(Int(o, "uid"));
  j.gid = static_cast<uint32_t>(Int(o, "gid"));
  j.groups = Uint32s(o, "groups");
  j.caps = U64(o, "caps");
  return j;
}

CapabilitySets CapsFromJs(const Napi::Object& caps) {
  CapabilitySets c;
  c.bounding = U64(caps, "bounding");
  c.effective = U64(caps, "effective");
  c.permitted = U64(caps, "permitted");
  c.inheritable = U64(caps, "inheritable");
  c.ambient = U64(caps, "ambient");
  return c;
}

DevicePolicy PolicyFromJs(const Napi::Object& o) {
  DevicePolicy p;
  p.default_allow = Bool(o, "defaultAllow");
  Napi::Array list = Arr(o, "exceptions");
  for (uint32_t i = 0; i < list.Length(); i++) p.exceptions.push_back(ExceptionFromJs(list.Get(i).As<Napi::Object>()));
  return p;
}

DeviceException ExceptionFromJs(const Napi::Object& e) {
  DeviceException x;
  x.type = Str(e, "type") == "b" ? 'b' : 'c';
  x.major = Int(e, "major");
  x.minor = Int(e, "minor");
  x.access = static_cast<uint32_t>(Int(e, "access"));
  return x;
}

std::vector<V1Write> WritesFromJs(const Napi::Array& a) {
  std::vector<V1Write> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object w = a.Get(i).As<Napi::Object>();
    out.push_back({Str(w, "file") == "allow", Str(w, "rule")});
  }
  return out;
}

namespace {

std::vector<RlimitPlan> RlimitsFromJs(const Napi::Object& o) {
  Napi::Array a = Arr(o, "rlimits");
  std::vector<RlimitPlan> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Object l = a.Get(i).As<Napi::Object>();
    out.push_back({static_cast<uint32_t>(Int(l, "resource")), U64(l, "soft"), U64(l, "hard")});
  }
  return out;
}

// The command fields, shared by a container's plan and an exec plan.
void CommandFromJs(const Napi::Object& o, ChildPlan* p) {
  std::string stdio = Str(o, "stdio");
  p->stdio = stdio == "inherit" ? ChildPlan::kInherit : stdio == "ignore" ? ChildPlan::kIgnore : ChildPlan::kPipe;
  p->exec_candidates = Strings(o, "execCandidates");
  p->argv = Strings(o, "argv");
  p->env = Strings(o, "env");
  p->cwd = Str(o, "cwd");
  p->uid = static_cast<uint32_t>(Int(o, "uid"));
  p->gid = static_cast<uint32_t>(Int(o, "gid"));
  p->groups = Uint32s(o, "groups");
  p->no_new_privileges = Bool(o, "noNewPrivileges");
  p->rlimits = RlimitsFromJs(o);
  p->terminal = Bool(o, "terminal");
  p->console_socket = Str(o, "consoleSocket");
  p->priority = static_cast<int>(Int(o, "priority"));
}

}  // namespace

ExecPlan ExecFromJs(const Napi::Object& o) {
  ExecPlan e;
  CommandFromJs(o, &e.proc);
  e.caps = CapsFromJs(Field(o, "caps").As<Napi::Object>());
  // All of the init's namespaces, its own and those it joined: entering one it shares
  // with us changes nothing.
  e.setns_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP;
  e.detach = Bool(o, "detach");
  return e;
}

ChildPlan PlanFromJs(const Napi::Object& o) {
  ChildPlan p;
  p.id = Str(o, "id");
  p.rootfs = Str(o, "rootfs");
  p.rootfs_dev = U64(o, "rootfsDev");
  p.rootfs_ino = U64(o, "rootfsIno");
  p.host_root = Bool(o, "hostRoot");
  p.staging_dir = Str(o, "stagingDir");
  CommandFromJs(o, &p);
  p.hostname = Str(o, "hostname");
  for (const std::string& ns : Strings(o, "namespaces")) {
    p.clone_flags |= NamespaceFlag(ns);
    if (ns == "cgroup") p.new_cgroupns = true;
  }
  Napi::Array joins = Arr(o, "joinNamespaces");
  for (uint32_t i = 0; i < joins.Length(); i++) {
    Napi::Object j = joins.Get(i).As<Napi::Object>();
    std::string type = Str(j, "type");
    p.join_namespaces.push_back({type == "cgroup" ? static_cast<uint64_t>(CLONE_NEWCGROUP) : NamespaceFlag(type), Str(j, "path")});
  }
  p.loopback_up = Bool(o, "loopbackUp");
  Napi::Array mounts = Arr(o, "mounts");
  for (uint32_t i = 0; i < mounts.Length(); i++) {
    Napi::Object m = mounts.Get(i).As<Napi::Object>();
    MountPlan mp;
    mp.kind = Str(m, "kind") == "tmpfs" ? MountPlan::kTmpfs : MountPlan::kBind;
    mp.source = Str(m, "source");
    mp.source_dev = U64(m, "sourceDev");
    mp.source_ino = U64(m, "sourceIno");
    mp.destination = Str(m, "destination");
    mp.readonly = Bool(m, "readonly");
    mp.recursive = Bool(m, "recursive");
    mp.nosuid = Bool(m, "nosuid");
    mp.nodev = Bool(m, "nodev");
    mp.noexec = Bool(m, "noexec");
    mp.atime = Str(m, "atime");
    mp.propagation = Str(m, "propagation");
    mp.tmpfs_mode = Str(m, "mode");
    mp.tmpfs_size = Str(m, "size");
    p.mounts.push_back(mp);
  }
  p.readonly_rootfs = Bool(o, "readonlyRootfs");
  p.sys_readonly = Bool(o, "sysReadonly");
  p.masked_paths = Strings(o, "maskedPaths");
  p.readonly_paths = Strings(o, "readonlyPaths");
  Napi::Array nodes = Arr(o, "nodes");
  for (uint32_t i = 0; i < nodes.Length(); i++) p.nodes.push_back(NodeFromJs(nodes.Get(i).As<Napi::Object>()));
  p.die_with_parent = Bool(o, "dieWithParent");
  p.creator = Str(o, "creator");
  p.sysctl_keys = Strings(o, "sysctlKeys");
  p.sysctl_values = Strings(o, "sysctlValues");
  p.exec_fifo = Str(o, "execFifo");
  p.cgroup_v2_dir = Str(o, "cgroupV2Dir");
  p.cgroup_v1_devices = Str(o, "cgroupV1Devices");
  p.device_backend_v2 = Str(o, "deviceBackend") == "v2";
  p.device_policy = PolicyFromJs(Field(o, "devicePolicy").As<Napi::Object>());
  p.v1_writes = WritesFromJs(Arr(o, "v1Writes"));
  return p;
}

}  // namespace nsbox
