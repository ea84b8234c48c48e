// The container's cgroups, parent side.
//
// cgroup2 (the unified hierarchy, pure or hybrid): one directory per container; the
// init is cloned straight into it (CLONE_INTO_CGROUP), cgroup.kill ends every process
// in it, and the device program is attached to it when the v2 backend is used.
// cgroup1 devices (hybrid or legacy hosts, or when forced): one directory in the
// devices hierarchy; the child moves itself in by writing "0" to its cgroup.procs.
#pragma once

#include <string>
#include <vector>

#include "plan.h"
#include "setup_error.h"

namespace nsbox {

struct CgroupFds {
  int v2_dir = -1;  // O_DIRECTORY fd for CLONE_INTO_CGROUP and BPF attach
  // Which directories this call made: a failed create removes only those, never a
  // cgroup that was there before (another container's, or one a caller named).
  bool made_v2 = false;
  std::vector<std::string> made_v1;
};

// Makes the directories (failing with EEXIST on an existing one: ids are unique), and the
// library's parent directory when missing, and opens the fds: the cgroup2 directory's
// in `fds`, each v1 directory's cgroup.procs in its plan entry, for the init to join.
bool CreateCgroups(ChildPlan& plan, CgroupFds* fds, SetupError* err);

// Markers on each directory a create made: trusted.nsbox.id (the container's id, so
// that a delete from a state file removes only that container's cgroups) and, for a
// container that dies with its creator, trusted.nsbox.creator (ChildPlan::creator).
// ReadMarker gives "" for a missing one.
void MarkCgroups(const ChildPlan& plan, const CgroupFds& fds);

// The plan's resource limits, in order; the first the kernel refuses fails creation,
// naming the file and the value.
bool WriteLimits(const ChildPlan& plan, SetupError* err);
std::string ReadMarker(const std::string& dir, const char* name);
extern const char kCreatorXattr[];
extern const char kIdXattr[];


// Writes "1" to cgroup.kill (every process, however deep, gets SIGKILL).
bool KillCgroup(const std::string& v2_dir, SetupError* err);

// rmdir of a container's directory (a no-op for ""); retries briefly while the kernel
// still counts an exiting task. Removes the library's parent too once it is empty.
bool RemoveCgroupDir(const std::string& dir, SetupError* err);
// All of a container's directories; tries the rest when one fails.
bool RemoveCgroupDirs(const std::vector<std::string>& v1_dirs, const std::string& v2_dir, SetupError* err);
// The v1 directories of a plan's entries.
std::vector<std::string> V1Dirs(const std::vector<V1Cgroup>& v1);

void CloseFd(int* fd);

}  // namespace nsbox
