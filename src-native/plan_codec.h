// The plan's wire format between the addon and the init helper: a flat, length-
// prefixed encoding of ChildPlan, written into a memfd before clone and read back by
// the helper. Both sides are compiled from this one header, so they cannot drift.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "plan.h"

namespace nsbox {

class PlanWriter {
 public:
  void U64(uint64_t v) { Raw(&v, sizeof(v)); }
  void Bool(bool v) { U64(v ? 1 : 0); }
  void Str(const std::string& s) {
    U64(s.size());
    Raw(s.data(), s.size());
  }
  void Strs(const std::vector<std::string>& v) {
    U64(v.size());
    for (const auto& s : v) Str(s);
  }
  const std::string& bytes() const { return out_; }

 private:
  void Raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

class PlanReader {
 public:
  PlanReader(const char* p, size_t n) : p_(p), end_(p + n) {}
  bool ok() const { return ok_; }
  uint64_t U64() {
    uint64_t v = 0;
    if (!Take(&v, sizeof(v))) return 0;
    return v;
  }
  bool Bool() { return U64() != 0; }
  std::string Str() {
    uint64_t n = U64();
    if (n > static_cast<uint64_t>(end_ - p_)) return Bad(), std::string();
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  std::vector<std::string> Strs() {
    uint64_t n = U64();
    std::vector<std::string> v;
    for (uint64_t i = 0; i < n && ok_; i++) v.push_back(Str());
    return v;
  }

 private:
  bool Take(void* out, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return Bad(), false;
    memcpy(out, p_, n);
    p_ += n;
    return true;
  }
  void Bad() {
    ok_ = false;
    p_ = end_;
  }
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

inline void WriteIds(PlanWriter* w, const std::vector<uint32_t>& ids) {
  w->U64(ids.size());
  for (uint32_t id : ids) w->U64(id);
}
inline std::vector<uint32_t> ReadIds(PlanReader* r) {
  std::vector<uint32_t> ids;
  uint64_t n = r->U64();
  for (uint64_t i = 0; i < n && r->ok(); i++) ids.push_back(static_cast<uint32_t>(r->U64()));
  return ids;
}
inline void WriteNode(PlanWriter* w, const NodePlan& n) {
  w->Str(n.path);
  for (uint64_t v : {uint64_t(n.type), uint64_t(n.major), uint64_t(n.minor), uint64_t(n.mode), uint64_t(n.uid), uint64_t(n.gid)})
    w->U64(v);
}
inline NodePlan ReadNode(PlanReader* r) {
  NodePlan n;
  n.path = r->Str();
  n.type = static_cast<char>(r->U64());
  n.major = static_cast<uint32_t>(r->U64());
  n.minor = static_cast<uint32_t>(r->U64());
  n.mode = static_cast<uint32_t>(r->U64());
  n.uid = static_cast<uint32_t>(r->U64());
  n.gid = static_cast<uint32_t>(r->U64());
  return n;
}

// Field order is the format: change each pair of functions together.
inline std::string EncodePlan(const ChildPlan& p) {
  PlanWriter w;
  w.Str(p.id);
  w.Str(p.rootfs);
  w.U64(p.rootfs_dev);
  w.U64(p.rootfs_ino);
  w.Bool(p.host_root);
  w.Str(p.staging_dir);
  w.Strs(p.exec_candidates);
  w.Strs(p.argv);
  w.Strs(p.env);
  w.Str(p.cwd);
  w.Str(p.hostname);
  w.U64(p.uid);
  w.U64(p.gid);
  WriteIds(&w, p.groups);
  w.U64(p.clone_flags);
  w.Bool(p.new_cgroupns);
  w.Bool(p.loopback_up);
  w.U64(p.mounts.size());
  for (const MountPlan& m : p.mounts) {
    w.U64(m.kind);
    w.Str(m.source);
    w.U64(m.source_dev);
    w.U64(m.source_ino);
    w.Str(m.destination);
    w.Bool(m.readonly);
    w.Bool(m.recursive);
    w.Bool(m.nosuid);
    w.Bool(m.nodev);
    w.Bool(m.noexec);
    w.Str(m.atime);
    w.Str(m.propagation);
    w.Str(m.tmpfs_mode);
    w.Str(m.tmpfs_size);
  }
  w.Bool(p.readonly_rootfs);
  w.Bool(p.sys_readonly);
  w.Strs(p.masked_paths);
  w.Strs(p.readonly_paths);
  w.U64(p.nodes.size());
  for (const NodePlan& n : p.nodes) WriteNode(&w, n);
  w.Bool(p.no_new_privileges);
  w.Bool(p.die_with_parent);
  w.U64(static_cast<uint64_t>(static_cast<int64_t>(p.priority)));
  w.U64(p.stdio);
  w.Str(p.cgroup_v1_devices);
  w.U64(p.rlimits.size());
  for (const RlimitPlan& l : p.rlimits) {
    w.U64(l.resource);
    w.U64(l.soft);
    w.U64(l.hard);
  }
  w.Strs(p.sysctl_keys);
  w.Strs(p.sysctl_values);
  w.Str(p.exec_fifo);
  w.Bool(p.terminal);
  return w.bytes();
}

inline bool DecodePlan(const char* data, size_t n, ChildPlan* p) {
  PlanReader r(data, n);
  p->id = r.Str();
  p->rootfs = r.Str();
  p->rootfs_dev = r.U64();
  p->rootfs_ino = r.U64();
  p->host_root = r.Bool();
  p->staging_dir = r.Str();
  p->exec_candidates = r.Strs();
  p->argv = r.Strs();
  p->env = r.Strs();
  p->cwd = r.Str();
  p->hostname = r.Str();
  p->uid = static_cast<uint32_t>(r.U64());
  p->gid = static_cast<uint32_t>(r.U64());
  p->groups = ReadIds(&r);
  p->clone_flags = r.U64();
  p->new_cgroupns = r.Bool();
  p->loopback_up = r.Bool();
  uint64_t nmounts = r.U64();
  for (uint64_t i = 0; i < nmounts && r.ok(); i++) {
    MountPlan m;
    m.kind = static_cast<MountPlan::Kind>(r.U64());
    m.source = r.Str();
    m.source_dev = r.U64();
    m.source_ino = r.U64();
    m.destination = r.Str();
    m.readonly = r.Bool();
    m.recursive = r.Bool();
    m.nosuid = r.Bool();
    m.nodev = r.Bool();
    m.noexec = r.Bool();
    m.atime = r.Str();
    m.propagation = r.Str();
    m.tmpfs_mode = r.Str();
    m.tmpfs_size = r.Str();
    p->mounts.push_back(m);
  }
  p->readonly_rootfs = r.Bool();
  p->sys_readonly = r.Bool();
  p->masked_paths = r.Strs();
  p->readonly_paths = r.Strs();
  uint64_t nnodes = r.U64();
  for (uint64_t i = 0; i < nnodes && r.ok(); i++) p->nodes.push_back(ReadNode(&r));
  p->no_new_privileges = r.Bool();
  p->die_with_parent = r.Bool();
  p->priority = static_cast<int>(static_cast<int64_t>(r.U64()));
  p->stdio = static_cast<ChildPlan::Stdio>(r.U64());
  p->cgroup_v1_devices = r.Str();
  uint64_t nlimits = r.U64();
  for (uint64_t i = 0; i < nlimits && r.ok(); i++) {
    RlimitPlan l;
    l.resource = static_cast<uint32_t>(r.U64());
    l.soft = r.U64();
    l.hard = r.U64();
    p->rlimits.push_back(l);
  }
  p->sysctl_keys = r.Strs();
  p->sysctl_values = r.Strs();
  p->exec_fifo = r.Str();
  p->terminal = r.Bool();
  return r.ok() && p->sysctl_keys.size() == p->sysctl_values.size();
}

inline std::string EncodeExec(const ExecPlan& e) {
  PlanWriter w;
  w.Str(EncodePlan(e.proc));
  for (uint64_t v : {e.caps.bounding, e.caps.effective, e.caps.permitted, e.caps.inheritable, e.caps.ambient}) w.U64(v);
  w.U64(e.setns_flags);
  w.Bool(e.detach);
  return w.bytes();
}

inline bool DecodeExec(const char* data, size_t n, ExecPlan* e) {
  PlanReader r(data, n);
  std::string proc = r.Str();
  if (!r.ok() || !DecodePlan(proc.data(), proc.size(), &e->proc)) return false;
  e->caps.bounding = r.U64();
  e->caps.effective = r.U64();
  e->caps.permitted = r.U64();
  e->caps.inheritable = r.U64();
  e->caps.ambient = r.U64();
  e->setns_flags = r.U64();
  e->detach = r.Bool();
  return r.ok();
}

inline std::string EncodeJoin(const JoinPlan& j) {
  PlanWriter w;
  WriteNode(&w, j.node);
  w.Bool(j.as_container);
  w.U64(j.uid);
  w.U64(j.gid);
  WriteIds(&w, j.groups);
  w.U64(j.caps);
  return w.bytes();
}

inline bool DecodeJoin(const char* data, size_t n, JoinPlan* j) {
  PlanReader r(data, n);
  j->node = ReadNode(&r);
  j->as_container = r.Bool();
  j->uid = static_cast<uint32_t>(r.U64());
  j->gid = static_cast<uint32_t>(r.U64());
  j->groups = ReadIds(&r);
  j->caps = r.U64();
  return r.ok();
}

}  // namespace nsbox
