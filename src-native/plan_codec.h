// The plan's wire format between the addon and the init helper: the kInit fields of a
// plan (plan.h), in field-list order, each a little-endian u64 or a u64 count followed
// by its bytes or elements. Written into a memfd before clone and read back by the
// helper; both sides are compiled from this one header and the one field list, so
// they cannot drift.
//
// The decoder reads what crosses a privilege boundary: every read is bounds-checked,
// every count is checked against the bytes left, every number against its type's
// range and every enum against its names; the first bad read fails the whole plan.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "plan.h"

namespace nsbox {

template <class T, class = void>
struct IsPlan : std::false_type {};
template <class T>
struct IsPlan<T, std::void_t<decltype(T::kIsPlan)>> : std::true_type {};

class PlanWriter {
 public:
  void U64(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof(v)); }
  void Bytes(const std::string& s) {
    U64(s.size());
    out_.append(s);
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

class PlanReader {
 public:
  PlanReader(const char* p, size_t n) : p_(p), end_(p + n) {}
  bool ok() const { return ok_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  uint64_t U64() {
    uint64_t v = 0;
    if (left() < sizeof(v)) return Bad(), 0;
    memcpy(&v, p_, sizeof(v));
    p_ += sizeof(v);
    return v;
  }
  // A count of things that each take at least one byte.
  uint64_t Count() {
    uint64_t n = U64();
    if (n > left()) return Bad(), 0;
    return n;
  }
  std::string Bytes() {
    uint64_t n = Count();
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  void Bad() {
    ok_ = false;
    p_ = end_;
  }

 private:
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

inline void Put(PlanWriter* w, bool v) { w->U64(v ? 1 : 0); }
inline void Put(PlanWriter* w, const std::string& s) { w->Bytes(s); }
inline void Put(PlanWriter* w, const Namespaces& n) { w->U64(n.flags); }
inline void Put(PlanWriter* w, const Namespace& n) { w->U64(n.flag); }
template <class I>
std::enable_if_t<std::is_integral_v<I> || std::is_enum_v<I>> Put(PlanWriter* w, I v) {
  w->U64(static_cast<uint64_t>(static_cast<int64_t>(v)));
}
template <class T>
void Put(PlanWriter* w, const std::vector<T>& v);
// An optional field: a presence flag, then the value when there is one.
template <class T>
void Put(PlanWriter* w, const std::optional<T>& v) {
  Put(w, v.has_value());
  if (v) Put(w, *v);
}
template <class T>
std::enable_if_t<IsPlan<T>::value> Put(PlanWriter* w, const T& s) {
  T::Visit(s, [w](const char*, unsigned use, const auto& f) {
    if (use & kInit) Put(w, f);
  });
}
template <class T>
void Put(PlanWriter* w, const std::vector<T>& v) {
  w->U64(v.size());
  for (const T& e : v) Put(w, e);
}

inline void Get(PlanReader* r, bool* v) {
  uint64_t x = r->U64();
  if (x > 1) r->Bad();
  *v = x == 1;
}
inline void Get(PlanReader* r, std::string* s) { *s = r->Bytes(); }
inline void Get(PlanReader* r, Namespaces* n) { n->flags = r->U64(); }
inline void Get(PlanReader* r, Namespace* n) { n->flag = r->U64(); }
template <class I>
std::enable_if_t<std::is_integral_v<I>> Get(PlanReader* r, I* v) {
  uint64_t x = r->U64();
  if constexpr (std::is_signed_v<I>) {
    int64_t s = static_cast<int64_t>(x);
    if (s < std::numeric_limits<I>::min() || s > std::numeric_limits<I>::max()) r->Bad();
  } else if (x > std::numeric_limits<I>::max()) {
    r->Bad();
  }
  *v = static_cast<I>(x);
}
template <class E>
std::enable_if_t<std::is_enum_v<E>> Get(PlanReader* r, E* v) {
  int64_t x = static_cast<int64_t>(r->U64());
  for (const auto& n : NamesOf(E{}))
    if (static_cast<int64_t>(n.value) == x) {
      *v = n.value;
      return;
    }
  r->Bad();
}
template <class T>
void Get(PlanReader* r, std::vector<T>* v);
template <class T>
void Get(PlanReader* r, std::optional<T>* v) {
  bool has = false;
  Get(r, &has);
  if (has && r->ok()) Get(r, &v->emplace());
}
template <class T>
std::enable_if_t<IsPlan<T>::value> Get(PlanReader* r, T* s) {
  T::Visit(*s, [r](const char*, unsigned use, auto& f) {
    if ((use & kInit) && r->ok()) Get(r, &f);
  });
}
template <class T>
void Get(PlanReader* r, std::vector<T>* v) {
  uint64_t n = r->Count();
  v->clear();
  for (uint64_t i = 0; i < n && r->ok(); i++) {
    v->emplace_back();
    Get(r, &v->back());
  }
}

template <class P>
std::string EncodePlan(const P& p) {
  PlanWriter w;
  Put(&w, p);
  return w.bytes();
}

// False when the bytes are not exactly one plan.
template <class P>
bool DecodePlan(const char* data, size_t n, P* p) {
  PlanReader r(data, n);
  Get(&r, p);
  return r.ok() && r.left() == 0;
}

template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};

// Calls fn(int& or const int&) on every kFd field of what EncodePlan(s) encodes: the
// fds a helper launched with this plan inherits.
template <class S, class Fn>
void ForEachPassedFd(S& s, Fn&& fn) {
  using T = std::remove_const_t<S>;
  if constexpr (IsVector<T>::value) {
    for (auto& e : s) ForEachPassedFd(e, fn);
  } else if constexpr (IsPlan<T>::value) {
    T::Visit(s, [&fn](const char*, unsigned use, auto& f) {
      if constexpr (std::is_same_v<std::decay_t<decltype(f)>, int>) {
        if ((use & kFd) == kFd) fn(f);
      } else if (use & kInit) {
        ForEachPassedFd(f, fn);
      }
    });
  }
}

}  // namespace nsbox
