#include "cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "device_backend.h"
#include "sys.h"

namespace nsbox {
namespace {

bool WriteFile(const std::string& path, const std::string& data, const char* step,
               SetupError* err, const std::string& what) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return err->Set(step, "open", path);
  ssize_t n = sys::retry_eintr([&] { return write(fd, data.data(), data.size()); });
  int e = errno;
  close(fd);
  if (n < 0) return err->Set(step, "write", path + ": " + what, e);
  return true;
}

// The whole of a small file, NUL-terminated; false when it cannot be read.
bool ReadSmall(const std::string& path, char* buf, size_t size) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = sys::retry_eintr([&] { return read(fd, buf, size - 1); });
  close(fd);
  if (n < 0) return false;
  buf[n] = '\0';
  return true;
}

}  // namespace

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

std::string Parent(const std::string& dir) { return dir.substr(0, dir.rfind('/')); }

// mkdir of a container's directory and, when missing, of its parents (the library's
// own "nsbox", or those of a cgroup path given in the spec). The library's parent is
// removed again once empty (RemoveCgroupDir), possibly by another process between
// our mkdirs: then we make it again.
// A new v1 cpuset directory starts with no CPUs and no memory nodes, and nothing can
// join it: it gets its parent's, as the kernel's clone_children would give them.
bool InheritCpuset(const std::string& dir, SetupError* err) {
  for (const char* file : {"/cpuset.cpus", "/cpuset.mems"}) {
    char mine[4096], parent[4096];
    if (!ReadSmall(dir + file, mine, sizeof(mine))) return true;  // not a cpuset directory
    if (mine[0] != '\0' && mine[0] != '\n') continue;
    if (!ReadSmall(Parent(dir) + file, parent, sizeof(parent))) return err->Set("cgroup", "read", Parent(dir) + file);
    if (!WriteFile(dir + file, parent, "cgroup", err, parent)) return false;
  }
  return true;
}

bool MakeCgroupDir(const std::string& dir, SetupError* err, int depth = 0) {
  for (int attempt = 0; attempt < 3; attempt++) {
    if (mkdir(dir.c_str(), 0755) == 0) return InheritCpuset(dir, err);
    if (errno != ENOENT || depth > 32) break;
    if (!MakeCgroupDir(Parent(dir), err, depth + 1) && err->err != EEXIST) return false;
  }
  return err->Set("cgroup", "mkdir", dir);
}

bool CreateCgroups(ChildPlan& plan, CgroupFds* fds, SetupError* err) {
  if (!plan.cgroup_v2_dir.empty()) {
    if (!MakeCgroupDir(plan.cgroup_v2_dir, err)) return false;
    fds->made_v2 = true;
    fds->v2_dir = open(plan.cgroup_v2_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fds->v2_dir < 0) return err->Set("cgroup", "open", plan.cgroup_v2_dir);
  }
  for (V1Cgroup& v1 : plan.cgroup_v1) {
    if (!MakeCgroupDir(v1.dir, err)) return false;
    fds->made_v1.push_back(v1.dir);
    std::string procs = v1.dir + "/cgroup.procs";
    v1.procs = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (v1.procs < 0) return err->Set("cgroup", "open", procs);
  }
  // A cgroup mount shows the container its own directories: the init clones them
  // through these fds, opened right after they were made, never looked up by name.
  bool view = false;
  for (const MountPlan& m : plan.mounts) view = view || m.kind == kCgroup;
  if (!view) return true;
  for (V1Cgroup& v1 : plan.cgroup_v1) {
    v1.dir_fd = open(v1.dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (v1.dir_fd < 0) return err->Set("cgroup", "open", v1.dir);
  }
  if (fds->v2_dir >= 0) {
    plan.fds.cgroup_v2 = fcntl(fds->v2_dir, F_DUPFD_CLOEXEC, 3);
    if (plan.fds.cgroup_v2 < 0) return err->Set("cgroup", "fcntl(F_DUPFD_CLOEXEC)", plan.cgroup_v2_dir);
  }
  return true;
}

std::vector<std::string> V1Dirs(const std::vector<V1Cgroup>& v1) {
  std::vector<std::string> dirs;
  for (const V1Cgroup& c : v1) dirs.push_back(c.dir);
  return dirs;
}

const char kCreatorXattr[] = "trusted.nsbox.creator";
const char kIdXattr[] = "trusted.nsbox.id";

namespace {
void Mark(const CgroupFds& fds, const char* name, const std::string& value) {
  if (fds.made_v2 && fds.v2_dir >= 0) fsetxattr(fds.v2_dir, name, value.data(), value.size(), 0);
  for (const std::string& dir : fds.made_v1) setxattr(dir.c_str(), name, value.data(), value.size(), 0);
}
}  // namespace

// Best effort: a hierarchy without xattrs gets no markers; its directories are then
// never swept, and a dead container's are removed only by a delete that has nothing
// to check them against (refused; destroy() of a live one still works).
void MarkCgroups(const ChildPlan& plan, const CgroupFds& fds) {
  Mark(fds, kIdXattr, plan.id);
  if (!plan.creator.empty()) Mark(fds, kCreatorXattr, plan.creator);
}

bool WriteLimits(const ChildPlan& plan, SetupError* err) {
  for (const CgroupWrite& w : plan.cgroup_writes) {
    int fd = open(w.path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return err->Set("cgroup-limits", "open", w.path);
    ssize_t n = sys::retry_eintr([&] { return write(fd, w.value.data(), w.value.size()); });
    int e = errno;
    close(fd);
    if (n < 0) return err->Set("cgroup-limits", "write", w.path + " = " + w.value, e);
  }
  return true;
}

std::string ReadMarker(const std::string& dir, const char* name) {
  char buf[128];
  ssize_t n = getxattr(dir.c_str(), name, buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

namespace {

// The v1 backend: each line lib computed, in order, to devices.allow or devices.deny.
// The kernel applies them as lib's compiled policy says, at create and live alike.
class V1Devices : public DeviceBackend {
 public:
  explicit V1Devices(std::string dir) : dir_(std::move(dir)) {}
  bool Apply(const DevicePolicy&, const std::vector<V1Write>& writes, int, SetupError* err) override {
    for (const V1Write& w : writes) {
      if (!WriteFile(dir_ + (w.file == kDevicesAllow ? "/devices.allow" : "/devices.deny"), w.rule, "device-rules", err, w.rule))
        return false;
    }
    return true;
  }
  bool Update(const DevicePolicy& policy, const std::vector<V1Write>& writes, const DeviceException*, int cgroup_fd,
              SetupError* err) override {
    return Apply(policy, writes, cgroup_fd, err);
  }
  bool Find(int, SetupError*) override { return true; }
  std::unique_ptr<DeviceBackend> Copy() const override { return std::make_unique<V1Devices>(dir_); }

 private:
  std::string dir_;
};

}  // namespace

std::unique_ptr<DeviceBackend> NewDeviceBackend(DeviceBackendKind kind, const std::string& v1_dir, const std::string& v2_dir) {
  if (kind == kDevicesV1) return std::make_unique<V1Devices>(v1_dir);
  return NewBpfDevices(v2_dir);
}

bool KillCgroup(const std::string& v2_dir, SetupError* err) {
  return WriteFile(v2_dir + "/cgroup.kill", "1", "kill", err, "1");
}

bool RemoveCgroupDirs(const std::vector<std::string>& v1_dirs, const std::string& v2_dir, SetupError* err) {
  bool ok = true;
  for (const std::string& dir : v1_dirs) ok = RemoveCgroupDir(dir, err) && ok;
  return RemoveCgroupDir(v2_dir, err) && ok;
}

bool RemoveCgroupDir(const std::string& dir, SetupError* err) {
  if (dir.empty()) return true;
  for (int attempt = 0;; attempt++) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) break;
    if (errno != EBUSY || attempt == 200) return err->Set("cgroup-remove", "rmdir", dir);
    struct timespec ts = {0, 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  // The library's parent goes too when this was its last container; EBUSY means
  // another container (of any process) still uses it. Parents named by a spec's
  // cgroup path belong to whoever chose it and stay.
  std::string parent = Parent(dir);
  if (parent.size() > 6 && parent.compare(parent.size() - 6, 6, "/nsbox") == 0) rmdir(parent.c_str());
  return true;
}

}  // namespace nsbox
