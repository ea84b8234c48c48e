// Copies the plan object made by lib/plan.ts into a ChildPlan (main thread only).
#pragma once

#include <napi.h>

#include "plan.h"

namespace nsbox {

// Throws a JS TypeError naming the field when the object is not of the expected shape
// (lib/ validates the spec; this only guards the boundary).
ChildPlan PlanFromJs(const Napi::Object& o);

DevicePolicy PolicyFromJs(const Napi::Object& o);
DeviceException ExceptionFromJs(const Napi::Object& e);
CapabilitySets CapsFromJs(const Napi::Object& caps);
JoinPlan JoinFromJs(const Napi::Object& o);
ExecPlan ExecFromJs(const Napi::Object& o);
std::vector<V1Write> WritesFromJs(const Napi::Array& a);

}  // namespace nsbox
