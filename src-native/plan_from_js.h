// Copies the plan object made by lib/plan.ts into a ChildPlan (main thread only).
#pragma once

#include <napi.h>

#include "plan.h"

namespace nsbox {

// Throws a JS TypeError naming the field when the object is not of the expected shape
// (lib/ validates the spec; this only guards the boundary).
ChildPlan PlanFromJs(const Napi::Object& o);

DeviceRule RuleFromJs(const Napi::Object& o);

}  // namespace nsbox
