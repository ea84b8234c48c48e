// Child stage: the container's filesystem view, built with the new mount API.
//
// Every target is opened with openat2(RESOLVE_IN_ROOT) relative to the new root and
// mounted onto that fd (move_mount with an empty path), so no path is looked up a
// second time and a symlink can never lead a mount onto the host.
#include <cstdio>
#include <dirent.h>
#include <cstring>
#include <sys/mount.h>  // MS_* flags only; the calls go through sys.h
#include <sys/sysmacros.h>

#include <linux/magic.h>
#include <sys/statfs.h>

#include "child.h"
#include "../make_node.h"
#include "../fd_passing.h"
#include "../sys.h"

namespace nsbox {
namespace {

constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
constexpr unsigned kNoSuidDevExec = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

int OpenInRoot(int root, const char* path, int flags) {
  return sys::openat2(root, path, flags, kInRoot);
}

// A fresh, detached filesystem. `opts` is a nullptr-terminated list of key/value
// pairs; a nullptr value sets a flag.
int NewFilesystem(const char* step, const char* type, const char* const* opts, unsigned attrs,
                  const char* where, const char* source = nullptr) {
  int fs = sys::fsopen(type);
  if (fs < 0) Fail(step, "fsopen", type);
  // What mountinfo and df show as the mount's source, as config.json names it (the
  // type, but "shm" for /dev/shm).
  if (sys::fsconfig(fs, FSCONFIG_SET_STRING, "source", source ? source : type, 0) < 0) Fail(step, "fsconfig", where, "source");
  for (const char* const* kv = opts; kv && kv[0]; kv += 2) {
    int r = kv[1] ? sys::fsconfig(fs, FSCONFIG_SET_STRING, kv[0], kv[1], 0)
                  : sys::fsconfig(fs, FSCONFIG_SET_FLAG, kv[0], nullptr, 0);
    if (r < 0) Fail(step, "fsconfig", where, kv[0]);
  }
  if (sys::fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    Fail(step, "fsconfig", where);
  int m = sys::fsmount(fs, attrs);
  if (m < 0) Fail(step, "fsmount", where);
  close(fs);
  return m;
}

void AttachFd(const char* step, int mnt, int target, const char* where) {
  if (sys::move_mount_fd(mnt, target) < 0) Fail(step, "move_mount", where);
  close(target);
}

// Attaches `mnt` on `path` in the root and returns it, still open.
int AttachKeep(const char* step, int mnt, int root, const char* path) {
  int target = OpenInRoot(root, path, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (target < 0) Fail(step, "openat2", path);
  AttachFd(step, mnt, target, path);
  return mnt;
}

void Attach(const char* step, int mnt, int root, const char* path) { close(AttachKeep(step, mnt, root, path)); }

// /proc, /sys and /dev must be real directories of the rootfs: a symlink there is
// how runtimes were tricked into mounting procfs or writing nodes elsewhere.
void RequireDirectory(int root, const char* name, bool may_create) {
  struct stat st;
  if (fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != ENOENT || !may_create) Fail("rootfs-check", "fstatat", "/", name);
    if (mkdirat(root, name, 0755) < 0) Fail("rootfs-check", "mkdirat", "/", name);
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
    Fail("rootfs-check", S_ISLNK(st.st_mode) ? "symlink-refused" : "not-a-directory", "/", name);
  }
}

// mkdir -p inside the root; each prefix is resolved in the root, so a symlinked
// component stays inside it.
void MakeDirsInRoot(int root, const char* path) {
  char buf[4096];
  size_t len = strlen(path);
  if (len >= sizeof(buf)) {
    errno = ENAMETOOLONG;
    Fail("mounts", "mkdir", path);
  }
  memcpy(buf, path, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    int fd = OpenInRoot(root, buf, O_PATH | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT) {
      char* slash = strrchr(buf, '/');
      *slash = '\0';
      int parent = OpenInRoot(root, buf[0] ? buf : "/", O_PATH | O_DIRECTORY);
      *slash = '/';
      if (parent < 0) Fail("mounts", "openat2", buf);
      if (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST) Fail("mounts", "mkdirat", buf);
      close(parent);
      fd = OpenInRoot(root, buf, O_PATH | O_DIRECTORY);
    }
    if (fd < 0) Fail("mounts", "openat2", buf);
    close(fd);
    buf[i] = saved;
  }
}

// A host path lib checked (rootfs, bind source): opened once and checked to be the
// very file lib found there (device and inode), then cloned through that fd. A path
// some other process (a container sharing the directory) exchanged since fails
// instead of handing the container something else. The rootfs is a real path and is
// opened with no symlink followed; a bind source follows its links as lib's stat did
// (/proc/<pid>/root/..., /proc/<pid>/ns/net name the files the kernel resolves them to).
// `opened`, when given, gets the fd of the file itself, still open.
int CloneResolved(const char* step, const std::string& path, uint64_t dev, uint64_t ino, unsigned flags,
                  bool follow, int* opened = nullptr, const char* open_as = nullptr) {
  // `open_as`: how to reach it from here ("." for a user namespace's rootfs, entered
  // before the init became an unprivileged id: clone_exec.h); `path` names it in errors.
  const char* at = open_as ? open_as : path.c_str();
  int fd = follow ? open(at, O_PATH | O_CLOEXEC)
                  : sys::openat2(AT_FDCWD, at, O_PATH, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) Fail(step, follow ? "open" : "openat2", path.c_str());
  struct stat st;
  if (fstat(fd, &st) < 0) Fail(step, "fstat", path.c_str());
  if (st.st_dev != dev || st.st_ino != ino) {
    errno = ESTALE;
    Fail(step, "verify-source", path.c_str(), ": not the file that was checked");
  }
  int mnt = sys::open_tree(fd, "", OPEN_TREE_CLONE | AT_EMPTY_PATH | flags);
  if (mnt < 0) Fail(step, "open_tree", path.c_str());
  if (opened) *opened = fd;
  else close(fd);
  return mnt;
}

// An idmapped mount the parent made and sent (handshake.h), checked to be the file lib
// found at `path`.
int ReceiveIdmapped(const char* step, const std::string& path, uint64_t dev, uint64_t ino) {
  IdmapMessage m;
  int mnt = -1;
  ssize_t n = RecvWithFd(ReportFd(), &m, sizeof(m), &mnt);
  if (n != static_cast<ssize_t>(sizeof(m)) || m.magic != 'I' || mnt < 0) {
    errno = EPROTO;
    Fail(step, "recvmsg", path.c_str(), ": the idmapped mount did not come");
  }
  struct stat st;
  if (fstat(mnt, &st) < 0) Fail(step, "fstat", path.c_str());
  if (st.st_dev != dev || st.st_ino != ino) {
    errno = ESTALE;
    Fail(step, "verify-source", path.c_str(), ": not the file that was checked");
  }
  return mnt;
}

// The idmapped rootfs; `where` is the directory it goes on (the rootfs, entered before
// this init became an unprivileged id: clone_exec.h).
int ReceiveIdmappedRootfs(const ChildPlan& plan, int* where) {
  int mnt = ReceiveIdmapped("rootfs", plan.rootfs, plan.rootfs_dev, plan.rootfs_ino);
  *where = sys::openat2(AT_FDCWD, ".", O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (*where < 0) Fail("rootfs", "openat2", plan.rootfs.c_str());
  return mnt;
}

// Opens (creating when missing) the destination of a user mount inside the root.
int OpenMountTarget(int root, const MountPlan& m, bool source_is_dir) {
  int fd = OpenInRoot(root, m.destination.c_str(), O_PATH);
  if (fd >= 0 || errno != ENOENT) {
    if (fd < 0) Fail("mounts", "openat2", m.destination.c_str());
    return fd;
  }
  if (source_is_dir) {
    MakeDirsInRoot(root, m.destination.c_str());
  } else {
    char parent[4096];
    CopyJoined(parent, sizeof(parent), m.destination.c_str());
    char* slash = strrchr(parent, '/');
    *slash = '\0';
    if (parent[0]) MakeDirsInRoot(root, parent);
    int pfd = OpenInRoot(root, parent[0] ? parent : "/", O_PATH | O_DIRECTORY);
    if (pfd < 0) Fail("mounts", "openat2", parent);
    int f = openat(pfd, slash + 1, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f < 0) Fail("mounts", "openat", m.destination.c_str());
    close(f);
    close(pfd);
  }
  fd = OpenInRoot(root, m.destination.c_str(), O_PATH);
  if (fd < 0) Fail("mounts", "openat2", m.destination.c_str());
  return fd;
}

// A cgroup mount: a tmpfs at its destination holding, by hierarchy name, a clone of
// each of the container's own cgroup directories (the v1 hierarchies it is in, and its
// cgroup2 directory as "unified"), through the fds the parent opened when it made them:
// the container sees its own cgroups and no one else's, as runc shows them on a v1 or
// hybrid host. Read-only, the tmpfs included, unless the config says rw.
void CgroupView(const ChildPlan& plan, int root, const MountPlan& m) {
  const char* dst = m.destination.c_str();
  static const char* const opts[] = {"mode", "755", nullptr};
  const unsigned attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  int tmpfs = NewFilesystem("cgroup-mount", "tmpfs", opts, attrs, dst, "cgroup");
  AttachFd("cgroup-mount", tmpfs, OpenMountTarget(root, m, true), dst);
  struct Entry {
    std::string name, dir;
    int fd;
  };
  std::vector<Entry> entries;
  for (const V1Cgroup& v1 : plan.cgroup_v1) entries.push_back({v1.name, v1.dir, v1.dir_fd});
  if (plan.fds.cgroup_v2 >= 0) entries.push_back({"unified", plan.cgroup_v2_dir, plan.fds.cgroup_v2});
  for (const Entry& e : entries) {
    if (e.fd < 0 || e.name.empty() || e.name.find('/') != std::string::npos) {
      errno = EINVAL;
      Fail("cgroup-mount", "plan", e.name.c_str());
    }
    struct statfs fs;
    if (fstatfs(e.fd, &fs) < 0) Fail("cgroup-mount", "fstatfs", e.name.c_str());
    if (fs.f_type != CGROUP_SUPER_MAGIC && fs.f_type != CGROUP2_SUPER_MAGIC) {
      errno = EXDEV;
      Fail("cgroup-mount", "verify-cgroupfs", e.name.c_str());
    }
    if (mkdirat(tmpfs, e.name.c_str(), 0755) < 0) Fail("cgroup-mount", "mkdirat", dst, ("/" + e.name).c_str());
    // The parent's fd names the directory in the host's mount namespace, which
    // open_tree cannot clone from here: the same directory is found in ours (a copy of
    // the host's, not pivoted yet) and must be the very inode the fd holds.
    struct stat want;
    if (fstat(e.fd, &want) < 0) Fail("cgroup-mount", "fstat", e.dir.c_str());
    int clone = CloneResolved("cgroup-mount", e.dir, want.st_dev, want.st_ino, 0, false);
    if (sys::mount_setattr(clone, "", AT_EMPTY_PATH, attrs | (m.readonly ? MOUNT_ATTR_RDONLY : 0), 0) < 0)
      Fail("cgroup-mount", "mount_setattr", e.name.c_str());
    int target = sys::openat2(tmpfs, e.name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    if (target < 0) Fail("cgroup-mount", "openat2", dst, ("/" + e.name).c_str());
    AttachFd("cgroup-mount", clone, target, e.name.c_str());
    close(clone);
    // Co-mounted controllers ("cpu,cpuacct") are also found by each name.
    if (e.name.find(',') != std::string::npos) {
      size_t start = 0;
      while (start < e.name.size()) {
        size_t comma = e.name.find(',', start);
        std::string one = e.name.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (symlinkat(e.name.c_str(), tmpfs, one.c_str()) < 0 && errno != EEXIST) Fail("cgroup-mount", "symlinkat", one.c_str());
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
  }
  if (m.readonly && sys::mount_setattr(tmpfs, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0) < 0)
    Fail("cgroup-mount", "mount_setattr", dst);
  close(tmpfs);
}

// tmpcopyup: what a tmpfs is about to cover, copied into it (the detached `to`):
// directories, regular files, symlinks and nodes with their modes and owners. Every
// entry is opened below its parent's fd without following a symlink, so the copy
// never leaves the directory it starts from.
void CopyTree(int from, int to, const char* where, int depth = 0) {
  if (depth > 64) {
    errno = ELOOP;
    Fail("mounts", "tmpcopyup", where);
  }
  int list = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (list < 0) Fail("mounts", "openat", where);
  DIR* d = fdopendir(list);
  if (!d) Fail("mounts", "fdopendir", where);
  while (struct dirent* e = readdir(d)) {
    const char* name = e->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    struct stat st;
    if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0) Fail("mounts", "fstatat", where, name);
    mode_t perm = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(to, name, perm) < 0 && errno != EEXIST) Fail("mounts", "mkdirat", where, name);
      int sub_from = openat(from, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int sub_to = openat(to, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub_from < 0 || sub_to < 0) Fail("mounts", "openat", where, name);
      CopyTree(sub_from, sub_to, where, depth + 1);
      close(sub_from);
      close(sub_to);
    } else if (S_ISREG(st.st_mode)) {
      int in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
      if (in < 0 || out < 0) Fail("mounts", "openat", where, name);
      char buf[65536];
      for (;;) {
        ssize_t n = sys::retry_eintr([&] { return read(in, buf, sizeof(buf)); });
        if (n < 0) Fail("mounts", "read", where, name);
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
          ssize_t w = sys::retry_eintr([&] { return write(out, buf + off, n - off); });
          if (w <= 0) Fail("mounts", "write", where, name);
          off += w;
        }
      }
      close(in);
      close(out);
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlinkat(from, name, target, sizeof(target) - 1);
      if (n < 0) Fail("mounts", "readlinkat", where, name);
      target[n] = '\0';
      if (symlinkat(target, to, name) < 0) Fail("mounts", "symlinkat", where, name);
    } else if (mknodat(to, name, st.st_mode, st.st_rdev) < 0) {
      Fail("mounts", "mknodat", where, name);
    }
    if (fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) Fail("mounts", "fchownat", where, name);
    // After the owner: a chown clears set-id bits.
    if (!S_ISLNK(st.st_mode) && fchmodat(to, name, perm, 0) < 0) Fail("mounts", "fchmodat", where, name);
  }
  closedir(d);
}

void UserMounts(const ChildPlan& plan, int root) {
  for (const MountPlan& m : plan.mounts) {
    const char* dst = m.destination.c_str();
    if (m.kind == kCgroup) {
      CgroupView(plan, root, m);
      continue;
    }
    int mnt;
    bool is_dir = true;
    // Every flag asked for is applied, or the mount fails.
    unsigned atime = m.atime == "strictatime" ? MOUNT_ATTR_STRICTATIME : m.atime == "noatime" ? MOUNT_ATTR_NOATIME : MOUNT_ATTR_RELATIME;
    unsigned attrs = (m.readonly ? MOUNT_ATTR_RDONLY : 0) | (m.nosuid ? MOUNT_ATTR_NOSUID : 0) |
                     (m.nodev ? MOUNT_ATTR_NODEV : 0) | (m.noexec ? MOUNT_ATTR_NOEXEC : 0) |
                     (m.atime.empty() ? 0 : atime);
    if (m.kind == kTmpfs) {
      const char* opts[6] = {nullptr};
      int n = 0;
      if (!m.tmpfs_mode.empty()) opts[n++] = "mode", opts[n++] = m.tmpfs_mode.c_str();
      if (!m.tmpfs_size.empty()) opts[n++] = "size", opts[n++] = m.tmpfs_size.c_str();
      // Read-only only once filled: a copy-up writes into it first.
      mnt = NewFilesystem("mounts", "tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m.copy_up ? attrs & ~MOUNT_ATTR_RDONLY : attrs), dst);
      if (m.copy_up) {
        int covered = OpenInRoot(root, dst, O_PATH | O_DIRECTORY);
        if (covered >= 0) {
          CopyTree(covered, mnt, dst);
          close(covered);
        } else if (errno != ENOENT) {
          Fail("mounts", "openat2", dst);
        }
        if ((attrs & MOUNT_ATTR_RDONLY) && sys::mount_setattr(mnt, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0) < 0)
          Fail("mounts", "mount_setattr", dst);
      }
    } else {
      mnt = m.idmap ? ReceiveIdmapped("mounts", m.source, m.source_dev, m.source_ino)
                    : CloneResolved("mounts", m.source, m.source_dev, m.source_ino, m.recursive ? AT_RECURSIVE : 0, true);
      struct stat st;
      if (fstat(mnt, &st) < 0) Fail("mounts", "fstat", m.source.c_str());
      is_dir = S_ISDIR(st.st_mode);
      if (attrs &&
          sys::mount_setattr(mnt, "", AT_EMPTY_PATH | (m.recursive ? AT_RECURSIVE : 0), attrs,
                             m.atime.empty() ? 0 : MOUNT_ATTR__ATIME, 0) < 0)
        Fail("mounts", "mount_setattr", dst);
    }
    AttachFd("mounts", mnt, OpenMountTarget(root, m, is_dir), dst);
    // Once attached (a detached mount has no propagation to change). A clone of a mount
    // here is a slave of the host's, as the container's root is: "slave" keeps it so
    // (host mounts below the source appear inside), "private" cuts it off, "shared"
    // makes a peer group of the container's own on top (still a slave of the host's,
    // so nothing reaches the host), "unbindable" refuses binds of it.
    uint64_t propagation = m.propagation == "private"  ? MS_PRIVATE
                         : m.propagation == "slave"    ? MS_SLAVE
                         : m.propagation == "shared"   ? MS_SHARED
                         : m.propagation == "unbindable" ? MS_UNBINDABLE : 0;
    if (propagation &&
        sys::mount_setattr(mnt, "", AT_EMPTY_PATH | (m.recursive ? AT_RECURSIVE : 0), 0, 0, propagation) < 0)
      Fail("mounts", "mount_setattr", dst, " (propagation)");
    close(mnt);
  }
}

struct DevNode {
  const char* name;
  unsigned major, minor;
};
constexpr DevNode kDevNodes[] = {{"null", 1, 3},    {"zero", 1, 5},    {"full", 1, 7},
                                 {"random", 1, 8},  {"urandom", 1, 9}, {"tty", 5, 0}};
constexpr const char* kDevLinks[][2] = {
    {"ptmx", "pts/ptmx"},          {"fd", "/proc/self/fd"},
    {"stdin", "/proc/self/fd/0"},  {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"}, {"core", "/proc/kcore"}};

// A user namespace's init may make no device node (the kernel refuses mknod there
// whatever the capabilities, and a tmpfs mounted there is nodev anyway): the host's
// node at `host`, resolved before pivot_root, is bound at `dir`/`name` (make_node.h).
void BindHostNode(const char* host, int dir, const char* name, const NodePlan& n) {
  const char* failed = "";
  int node = OpenHostNode(host, n, &failed);
  if (node < 0) Fail("dev", failed, host, errno == EINVAL ? " is not the device the container asks for" : " (a user namespace gets the host's node, and the host has none there)");
  if (const char* call = BindNodeAt(node, dir, name, n, false)) Fail("dev", call, host, " (bound from the host)");
  close(node);
}

// Fills the detached /dev tmpfs before it is attached: nothing in the rootfs can
// interfere, and each node is checked to be what we made. In a user namespace only
// the links and directories: the nodes are bound from the host's once it is attached.
void PopulateDev(int dev, bool userns) {
  for (const DevNode& n : kDevNodes) {
    if (userns) break;
    dev_t want = makedev(n.major, n.minor);
    if (mknodat(dev, n.name, S_IFCHR | 0666, want) < 0) Fail("dev", "mknodat", "/dev/", n.name);
    struct stat st;
    if (fstatat(dev, n.name, &st, AT_SYMLINK_NOFOLLOW) < 0) Fail("dev", "fstatat", "/dev/", n.name);
    if (!S_ISCHR(st.st_mode) || st.st_rdev != want) {
      errno = EIO;
      Fail("dev", "verify-node", "/dev/", n.name);
    }
  }
  for (const auto& link : kDevLinks)
    if (symlinkat(link[1], dev, link[0]) < 0) Fail("dev", "symlinkat", "/dev/", link[0]);
  if (mkdirat(dev, "pts", 0755) < 0) Fail("dev", "mkdirat", "/dev/pts");
  if (mkdirat(dev, "shm", 01777) < 0) Fail("dev", "mkdirat", "/dev/shm");
  if (mkdirat(dev, "mqueue", 01777) < 0) Fail("dev", "mkdirat", "/dev/mqueue");
}

// Returns the fd of the /dev mount.
int MountDev(int root, const ChildPlan& plan) {
  bool userns = (plan.namespaces.flags & CLONE_NEWUSER) != 0;
  static const char* const tmpfs_opts[] = {"mode", "755", "size", "65536k", nullptr};
  int dev = NewFilesystem("dev", "tmpfs", tmpfs_opts, MOUNT_ATTR_NOSUID, "/dev");
  PopulateDev(dev, userns);
  int target = OpenInRoot(root, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (target < 0) Fail("dev", "openat2", "/dev");
  AttachFd("dev", dev, target, "/dev");
  if (userns) {
    for (const DevNode& d : kDevNodes) {
      NodePlan n;
      n.type = kCharDev, n.major = d.major, n.minor = d.minor;
      BindHostNode((std::string("/dev/") + d.name).c_str(), dev, d.name, n);
    }
  }

  // The tty group only where the container's id maps have a gid 5 (devpts refuses an unmapped one).
  std::string tty_gid = std::to_string(plan.devpts_gid);
  const char* const pts_opts[] = {"newinstance", nullptr, "ptmxmode", "0666", "mode", "0620",
                                  plan.devpts_gid >= 0 ? "gid" : nullptr, tty_gid.c_str(), nullptr};
  int pts = NewFilesystem("dev", "devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, "/dev/pts");
  int t = openat(dev, "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (t < 0) Fail("dev", "openat", "/dev/pts");
  AttachFd("dev", pts, t, "/dev/pts");
  close(pts);

  static const char* const shm_opts[] = {"mode", "1777", "size", "65536k", nullptr};
  int shm = NewFilesystem("dev", "tmpfs", shm_opts, kNoSuidDevExec, "/dev/shm", "shm");
  t = openat(dev, "shm", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (t < 0) Fail("dev", "openat", "/dev/shm");
  AttachFd("dev", shm, t, "/dev/shm");
  close(shm);

  int mq = NewFilesystem("dev", "mqueue", nullptr, kNoSuidDevExec, "/dev/mqueue");
  t = openat(dev, "mqueue", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (t < 0) Fail("dev", "openat", "/dev/mqueue");
  AttachFd("dev", mq, t, "/dev/mqueue");
  close(mq);
  return dev;
}

// The filesystems this init mounted itself, as fds of their mounts. After move_mount
// such an fd still names the mount's root wherever the mount now is, so a path
// resolved from it lands in our procfs (sysfs, /dev tmpfs) even when something in the
// rootfs renamed the directory it was attached on (the CVE-2019-16884 class).
struct FreshMounts {
  int proc = -1, sys = -1, dev = -1;
};

// Opens a masked or read-only path: under /proc, /sys or /dev from the mount we made
// there, beneath it and without symlinks; anywhere else in the rootfs. `missing` is
// set (and -1 returned) only when a path inside one of our own filesystems does not
// exist: this kernel lacks it, and nothing in the container can make it so.
int OpenMaskTarget(const FreshMounts& f, int root, const std::string& p, const char* step, bool* missing) {
  *missing = false;
  struct Under {
    const char* prefix;
    int fd;
  } const under[] = {{"/proc", f.proc}, {"/sys", f.sys}, {"/dev", f.dev}};
  for (const Under& u : under) {
    size_t n = strlen(u.prefix);
    if (p.compare(0, n, u.prefix) != 0 || (p.size() > n && p[n] != '/')) continue;
    const char* rest = p.c_str() + n;
    while (*rest == '/') rest++;
    int fd = sys::openat2(u.fd, *rest ? rest : ".", O_PATH | O_NOFOLLOW,
                          RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (fd < 0 && errno == ENOENT) {
      *missing = true;
      return -1;
    }
    if (fd < 0) Fail(step, "openat2", p.c_str());
    return fd;
  }
  // The rootfs's own files: resolved inside the root, following symlinks there (a
  // hidden /home that links to var/home hides var/home; RESOLVE_IN_ROOT keeps every
  // link inside the root). One that does not exist has nothing to hide.
  int fd = OpenInRoot(root, p.c_str(), O_PATH);
  if (fd < 0 && errno == ENOENT) {
    *missing = true;
    return -1;
  }
  if (fd < 0) Fail(step, "openat2", p.c_str());
  return fd;
}

// A masked file gets a bind of our own, verified /dev/null; a masked directory an
// empty read-only tmpfs.
void MaskPaths(const ChildPlan& plan, int root, const FreshMounts& f) {
  if (plan.masked_paths.empty()) return;
  int null_fd = openat(f.dev, "null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (null_fd < 0) Fail("masked-paths", "openat", "/dev/null");
  if (fstat(null_fd, &st) < 0) Fail("masked-paths", "fstat", "/dev/null");
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    errno = EIO;
    Fail("masked-paths", "verify-node", "/dev/null");
  }
  static const char* const empty_opts[] = {"size", "0", nullptr};
  for (const std::string& p : plan.masked_paths) {
    bool missing;
    int target = OpenMaskTarget(f, root, p, "masked-paths", &missing);
    if (missing) continue;
    if (fstat(target, &st) < 0) Fail("masked-paths", "fstat", p.c_str());
    int mnt = S_ISDIR(st.st_mode)
                  ? NewFilesystem("masked-paths", "tmpfs", empty_opts, kNoSuidDevExec | MOUNT_ATTR_RDONLY,
                                  p.c_str())
                  : sys::open_tree(null_fd, "", OPEN_TREE_CLONE | AT_EMPTY_PATH);
    if (mnt < 0) Fail("masked-paths", "open_tree", "/dev/null");
    AttachFd("masked-paths", mnt, target, p.c_str());
    close(mnt);
  }
  close(null_fd);
}

void ReadonlyPaths(const ChildPlan& plan, int root, const FreshMounts& f) {
  for (const std::string& p : plan.readonly_paths) {
    bool missing;
    int target = OpenMaskTarget(f, root, p, "readonly-paths", &missing);
    if (missing) continue;
    int mnt = sys::open_tree(target, "", OPEN_TREE_CLONE | AT_EMPTY_PATH | AT_RECURSIVE);
    if (mnt < 0) Fail("readonly-paths", "open_tree", p.c_str());
    if (sys::mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE,
                           MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0) < 0)
      Fail("readonly-paths", "mount_setattr", p.c_str());
    AttachFd("readonly-paths", mnt, target, p.c_str());
    close(mnt);
  }
}

uint64_t MountId(int dirfd, const char* path, const char* step, const char* what) {
  struct statx sx;
  if (statx(dirfd, path, AT_SYMLINK_NOFOLLOW | (path[0] ? 0 : AT_EMPTY_PATH), STATX_MNT_ID, &sx) < 0)
    Fail(step, "statx", what);
  if (!(sx.stx_mask & STATX_MNT_ID)) {
    errno = ENOTSUP;
    Fail(step, "statx(STATX_MNT_ID)", what);
  }
  return sx.stx_mnt_id;
}

// Right before pivot_root: the rootfs's /proc, /sys and /dev are the very mounts we
// made (a rename in the rootfs may have moved them aside), and /proc is a procfs.
// Otherwise creation fails: the container would get a directory of the rootfs there.
void VerifyFreshMounts(int root, const FreshMounts& f) {
  struct statfs fs;
  if (fstatfs(f.proc, &fs) < 0) Fail("proc", "fstatfs", "/proc");
  if (fs.f_type != PROC_SUPER_MAGIC) {
    errno = EXDEV;
    Fail("proc", "verify-procfs", "/proc");
  }
  struct {
    const char* name;
    int fd;
  } const mounts[] = {{"proc", f.proc}, {"sys", f.sys}, {"dev", f.dev}};
  for (const auto& m : mounts) {
    if (MountId(root, m.name, m.name, m.name) != MountId(m.fd, "", m.name, m.name)) {
      errno = EXDEV;
      Fail(m.name, "verify-mount", "/", m.name);
    }
  }
}

// The host's own /proc, /sys, /dev, /tmp and /run mounts came along with the
// recursive clone of "/". Fresh ones are mounted instead; the host's are detached,
// not merely covered, so no umount inside the container can reveal them.
void DetachHostSubtrees(const ChildPlan& plan) {
  for (const char* dir : {"/proc", "/sys", "/dev", "/tmp", "/run"}) {
    char path[4096];
    CopyJoined(path, sizeof(path), plan.staging_dir.c_str(), dir);
    if (sys::umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
      Fail("rootfs", "umount2", dir);
  }
}

// An existing node at the path is fine when it is the same device. In a user
// namespace a device is the host's node at the same path, bound (BindHostNode); a FIFO
// is made as anywhere.
void CreateNode(const NodePlan& n, int root, bool userns) {
  const char* path = n.path.c_str();
  char parent[4096];
  CopyJoined(parent, sizeof(parent), path);
  char* slash = strrchr(parent, '/');
  *slash = '\0';
  if (parent[0]) MakeDirsInRoot(root, parent);
  int dir = OpenInRoot(root, parent[0] ? parent : "/", O_PATH | O_DIRECTORY);
  if (dir < 0) Fail("nodes", "openat2", parent[0] ? parent : "/");
  if (userns && n.type != kFifo) {
    BindHostNode(path, dir, slash + 1, n);
  } else if (const char* call = MakeNodeAt(dir, slash + 1, n, true)) {
    Fail("nodes", call, path);
  }
  close(dir);
}

// A write into the container's fresh procfs (the fd of the mount we made): every
// component resolved beneath `dir` without symlinks, and the file checked to be
// procfs's before the write.
void WriteProcFile(int dir, const char* path, const std::string& value, const char* step, const char* shown) {
  int fd = sys::openat2(dir, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
  if (fd < 0) Fail(step, "openat2", shown, path);
  struct statfs fs;
  if (fstatfs(fd, &fs) < 0) Fail(step, "fstatfs", shown, path);
  if (fs.f_type != PROC_SUPER_MAGIC) {
    errno = EXDEV;
    Fail(step, "fstatfs", shown, path);
  }
  if (sys::retry_eintr([&] { return write(fd, value.data(), value.size()); }) != static_cast<ssize_t>(value.size()))
    Fail(step, "write", shown, path);
  close(fd);
}

// sysctls land in the container's own namespaces, through its own /proc/sys.
void WriteSysctls(const ChildPlan& plan, int proc) {
  if (plan.sysctls.empty()) return;
  int sys_dir = sys::openat2(proc, "sys", O_PATH | O_DIRECTORY | O_NOFOLLOW,
                             RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV);
  if (sys_dir < 0) Fail("sysctl", "openat2", "/proc/sys");
  for (const SysctlPlan& sysctl : plan.sysctls) WriteProcFile(sys_dir, sysctl.path.c_str(), sysctl.value, "sysctl", "/proc/sys/");
  close(sys_dir);
}

// The init's own oom_score_adj, which the command inherits: by its pid in the procfs
// of its pid namespace ("self" is a symlink, refused above).
void WriteOomScoreAdj(const ChildPlan& plan, int proc) {
  if (!plan.oom_score_adj) return;
  char path[32];
  snprintf(path, sizeof(path), "%d/oom_score_adj", static_cast<int>(getpid()));
  WriteProcFile(proc, path, std::to_string(*plan.oom_score_adj), "oom-score-adj", "/proc/");
}

void PivotInto(int root) {
  if (fchdir(root) < 0) Fail("pivot-root", "fchdir");
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching it
  // leaves the new root alone, with no directory needed for the old one.
  if (sys::pivot_root(".", ".") < 0) Fail("pivot-root", "pivot_root");
  if (sys::umount2(".", MNT_DETACH) < 0) Fail("pivot-root", "umount2");
  if (chdir("/") < 0) Fail("pivot-root", "chdir", "/");
}

// The container's root as linux.rootfsPropagation asks, once it is "/". It stays a slave
// of the host's mounts (rslave, the default) or cuts even that (private); "shared" gives
// it a peer group of its own on top of being a slave, so mounts propagate between the
// container's own mounts but never back to the host.
void RootPropagation(const ChildPlan& plan) {
  const std::string& p = plan.rootfs_propagation;
  if (p.empty() || p == "rslave") return;
  bool rec = p[0] == 'r';
  std::string kind = rec ? p.substr(1) : p;
  unsigned long flag = kind == "private"  ? MS_PRIVATE
                       : kind == "slave"  ? MS_SLAVE
                       : kind == "shared" ? MS_SHARED
                       : kind == "unbindable" ? MS_UNBINDABLE : 0;
  if (flag == 0) errno = EINVAL;
  if (flag == 0 || sys::mount(nullptr, "/", nullptr, flag | (rec ? MS_REC : 0), nullptr) < 0)
    Fail("rootfs-propagation", "mount", "/", (" (" + p + ")").c_str());
}

// A rootfs directory is resolved once, by the open_tree above; what it opened must not
// be the host's own root in any spelling (a symlink to "/", "/tmp/..", a bind mount of
// "/"): that would hand the container the host read-write.
void RefuseHostRoot(int root, const char* path) {
  struct stat got, host;
  if (fstat(root, &got) < 0) Fail("rootfs", "fstat", path);
  if (stat("/", &host) < 0) Fail("rootfs", "stat", "/");
  if (!S_ISDIR(got.st_mode)) {
    errno = ENOTDIR;
    Fail("rootfs", "open_tree", path);
  }
  if (got.st_dev == host.st_dev && got.st_ino == host.st_ino) {
    errno = EPERM;
    Fail("rootfs", "refuse-host-root", path, " is the host's root directory");
  }
}

}  // namespace

void CreateNodes(const ChildPlan& plan, int root) {
  for (const NodePlan& n : plan.nodes) CreateNode(n, root, (plan.namespaces.flags & CLONE_NEWUSER) != 0);
}

void SetupMountNamespace(const ChildPlan& plan) {
  // Nothing we mount may propagate back to the host.
  if (sys::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0)
    Fail("mount-propagation", "mount", "/");

  // A rootfs directory is assembled in place: its clone is attached on the very
  // directory it was cloned from (in this mount namespace only), so hooks that enter
  // the namespace before pivot_root find the container's root at root.path, as the
  // runtime spec has them. The host's own root cannot be covered that way; its
  // read-only view is assembled at the staging directory.
  int where = -1;
  int root = plan.idmap_rootfs && !plan.host_root ? ReceiveIdmappedRootfs(plan, &where)
           : plan.host_root ? sys::open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | AT_RECURSIVE)
                            : CloneResolved("rootfs", plan.rootfs, plan.rootfs_dev, plan.rootfs_ino, AT_RECURSIVE, false, &where,
                                            (plan.namespaces.flags & CLONE_NEWUSER) ? "." : nullptr);
  if (root < 0) Fail("rootfs", "open_tree", plan.rootfs.c_str());
  if (!plan.host_root) RefuseHostRoot(root, plan.rootfs.c_str());
  if (plan.host_root &&
      sys::mount_setattr(root, "", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0) < 0)
    Fail("rootfs", "mount_setattr", "/");
  if (plan.host_root) {
    where = open(plan.staging_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (where < 0) Fail("rootfs", "open", plan.staging_dir.c_str());
  }
  AttachFd("rootfs", root, where, plan.host_root ? plan.staging_dir.c_str() : plan.rootfs.c_str());
  // In a user namespace the host's mounts below are locked to their parent (the kernel
  // refuses to unmount them there): they stay, covered by the fresh ones, which only a
  // CAP_SYS_ADMIN the spec refuses here could take off (spec.ts checkUsernsSpec).
  if (plan.host_root && !(plan.namespaces.flags & CLONE_NEWUSER)) DetachHostSubtrees(plan);

  RequireDirectory(root, "proc", !plan.host_root);
  RequireDirectory(root, "sys", !plan.host_root);
  RequireDirectory(root, "dev", !plan.host_root);

  FreshMounts fresh;
  fresh.proc = AttachKeep("proc", NewFilesystem("proc", "proc", nullptr, kNoSuidDevExec, "/proc"), root, "proc");
  WriteSysctls(plan, fresh.proc);
  WriteOomScoreAdj(plan, fresh.proc);
  // In the order OCI configs list them (proc, dev and what is under it, sys): tools
  // that compare mountinfo with config.json check the order too.
  fresh.dev = MountDev(root, plan);
  fresh.sys = AttachKeep("sys",
                         NewFilesystem("sys", "sysfs", nullptr,
                                       kNoSuidDevExec | (plan.sys_readonly ? MOUNT_ATTR_RDONLY : 0), "/sys"),
                         root, "sys");
  if (plan.host_root) {
    // The host's /tmp and /run are not the container's business.
    static const char* const tmp_opts[] = {"mode", "1777", nullptr};
    static const char* const run_opts[] = {"mode", "755", nullptr};
    Attach("tmp", NewFilesystem("tmp", "tmpfs", tmp_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "/tmp"),
           root, "tmp");
    Attach("run", NewFilesystem("run", "tmpfs", run_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "/run"),
           root, "run");
  }
  UserMounts(plan, root);
  CreateNodes(plan, root);
  // The runtime's hooks (prestart, createRuntime, createContainer) run now, with the
  // container's filesystems in place and still writable, as with runc.
  if (plan.hooks_pause) AwaitHooks();
  MaskPaths(plan, root, fresh);
  ReadonlyPaths(plan, root, fresh);
  if (plan.readonly_rootfs && !plan.host_root &&
      sys::mount_setattr(root, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0) < 0)
    Fail("rootfs", "mount_setattr", "/");
  VerifyFreshMounts(root, fresh);
  close(fresh.proc);
  close(fresh.sys);
  close(fresh.dev);
  PivotInto(root);
  close(root);
  RootPropagation(plan);
}

}  // namespace nsbox
