// The one error shape of the native layer, parent and child alike: which step
// failed, the call and its errno, and the path or rule involved. It becomes a
// ContainerError in lib/errors.ts.
#pragma once

#include <cerrno>
#include <string>

namespace nsbox {

struct SetupError {
  int err = 0;
  std::string step, syscall, detail;

  // Records errno of the call that just failed; returns false so callers can
  // `return err->Set(...)`.
  bool Set(const char* s, const char* call, std::string what = "", int e = errno) {
    err = e;
    step = s;
    syscall = call;
    detail = std::move(what);
    return false;
  }
};

}  // namespace nsbox
