// Copies the plan objects made by lib/plan.ts into the structures of plan.h (main
// thread only), by their field lists.
#pragma once

#include <napi.h>

#include "plan.h"

namespace nsbox {

// Reads every kJs field of T from `v`. Throws a JS TypeError naming the key when the
// value is not of the expected shape (lib/ validates the spec; this only guards the
// boundary). Instantiated for ChildPlan, ExecPlan, JoinPlan, AttachTarget,
// CapabilitySets, DevicePolicy, DeviceException and std::vector<V1Write>.
template <class T>
T FromJs(const Napi::Value& v);

}  // namespace nsbox
