// A container's device cgroup, behind one interface chosen once per container
// (ChildPlan::device_backend, from lib's choice for the host):
//   v1      the devices cgroup's devices.allow and devices.deny, written in the order
//           lib computed (cgroup.cc);
//   cgroup2 a BPF_PROG_TYPE_CGROUP_DEVICE program and its map of exceptions, attached
//           to the container's cgroup2 directory (bpf_devices.cc, which documents the
//           program).
// lib hands over both forms of every rule set: the compiled policy for the program and
// the lines for the v1 files; each backend takes its own.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plan.h"
#include "setup_error.h"

namespace nsbox {

class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  // The rules at create, once the init reported ready. `cgroup_fd`: the container's
  // cgroup2 directory (-1 without one).
  virtual bool Apply(const DevicePolicy& policy, const std::vector<V1Write>& writes, int cgroup_fd,
                     SetupError* err) = 0;
  // A live change to `policy`; `single` when only that exception changed (access 0:
  // it went), which the program's map takes in place.
  virtual bool Update(const DevicePolicy& policy, const std::vector<V1Write>& writes, const DeviceException* single,
                      int cgroup_fd, SetupError* err) = 0;
  // What a container made by another process has already (attach), so that updates
  // replace it.
  virtual bool Find(int cgroup_fd, SetupError* err) = 0;
  // A copy holding its own fds, for a worker: the container may close its own while
  // the worker runs. After an Update it is the container's new state.
  virtual std::unique_ptr<DeviceBackend> Copy() const = 0;
};

// `v1_dir`: the devices cgroup directory; `v2_dir`: the cgroup2 one (for messages).
std::unique_ptr<DeviceBackend> NewDeviceBackend(DeviceBackendKind kind, const std::string& v1_dir,
                                                const std::string& v2_dir);
std::unique_ptr<DeviceBackend> NewBpfDevices(const std::string& v2_dir);

}  // namespace nsbox
