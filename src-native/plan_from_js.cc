#include "plan_from_js.h"

#include <type_traits>

#include "plan_codec.h"

namespace nsbox {
namespace {

[[noreturn]] void Bad(const Napi::Value& v, const std::string& key, const char* what) {
  throw Napi::TypeError::New(v.Env(), (key.empty() ? "plan " : "plan." + key + " ") + what);
}

void Read(const Napi::Value& v, const std::string& key, std::string* out) {
  if (!v.IsString()) Bad(v, key, "must be a string");
  *out = v.As<Napi::String>().Utf8Value();
}
void Read(const Napi::Value& v, const std::string&, bool* out) { *out = v.ToBoolean().Value(); }
int64_t Number(const Napi::Value& v, const std::string& key) {
  if (!v.IsNumber()) Bad(v, key, "must be a number");
  return v.As<Napi::Number>().Int64Value();
}
void Read(const Napi::Value& v, const std::string& key, int64_t* out) { *out = Number(v, key); }
void Read(const Napi::Value& v, const std::string& key, int* out) { *out = static_cast<int>(Number(v, key)); }
void Read(const Napi::Value& v, const std::string& key, uint32_t* out) { *out = static_cast<uint32_t>(Number(v, key)); }
void Read(const Napi::Value& v, const std::string& key, uint64_t* out) {
  if (!v.IsBigInt()) Bad(v, key, "must be a bigint");
  bool lossless = true;
  *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
}
template <class E>
std::enable_if_t<std::is_enum_v<E>> Read(const Napi::Value& v, const std::string& key, E* out) {
  std::string name;
  Read(v, key, &name);
  for (const auto& n : NamesOf(E{}))
    if (name == n.name) {
      *out = n.value;
      return;
    }
  Bad(v, key, ("has no value " + name).c_str());
}
uint64_t NamespaceFlag(const Napi::Value& v, const std::string& key) {
  std::string name;
  Read(v, key, &name);
  for (const auto& n : kNamespaceFlags)
    if (name == n.name) return n.value;
  Bad(v, key, ("names no namespace " + name).c_str());
}
void Read(const Napi::Value& v, const std::string& key, Namespace* out) { out->flag = NamespaceFlag(v, key); }
Napi::Array Array(const Napi::Value& v, const std::string& key) {
  if (!v.IsArray()) Bad(v, key, "must be an array");
  return v.As<Napi::Array>();
}
void Read(const Napi::Value& v, const std::string& key, Namespaces* out) {
  Napi::Array a = Array(v, key);
  for (uint32_t i = 0; i < a.Length(); i++) out->flags |= NamespaceFlag(a.Get(i), key);
}
template <class T>
void Read(const Napi::Value& v, const std::string& key, std::vector<T>* out);
void Read(const Napi::Value& v, const std::string& key, std::vector<uint32_t>* out);
// null: none (the field keeps what the process inherits).
template <class T>
void Read(const Napi::Value& v, const std::string& key, std::optional<T>* out) {
  if (v.IsNull()) return out->reset();
  Read(v, key, &out->emplace());
}
template <class T>
std::enable_if_t<IsPlan<T>::value> Read(const Napi::Value& v, const std::string& key, T* out) {
  if (!v.IsObject()) Bad(v, key, "must be an object");
  Napi::Object o = v.As<Napi::Object>();
  T::Visit(*out, [&o](const char* k, unsigned use, auto& f) {
    if (!(use & kJs)) return;
    Napi::Value field = o.Get(k);
    if (field.IsUndefined()) Bad(o, k, "is missing");
    Read(field, k, &f);
  });
}
// A compiled program (the seccomp filter) comes as a Uint32Array: one copy, not an
// element-by-element walk of a JS array on every create.
void Read(const Napi::Value& v, const std::string& key, std::vector<uint32_t>* out) {
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array) {
    Napi::Uint32Array a = v.As<Napi::Uint32Array>();
    out->assign(a.Data(), a.Data() + a.ElementLength());
    return;
  }
  Napi::Array a = Array(v, key);
  out->resize(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) (*out)[i] = static_cast<uint32_t>(Number(a.Get(i), key));
}

template <class T>
void Read(const Napi::Value& v, const std::string& key, std::vector<T>* out) {
  Napi::Array a = Array(v, key);
  out->resize(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) Read(a.Get(i), key, &(*out)[i]);
}

}  // namespace

template <class T>
T FromJs(const Napi::Value& v) {
  T out;
  Read(v, "", &out);
  return out;
}

template ChildPlan FromJs<ChildPlan>(const Napi::Value&);
template ExecPlan FromJs<ExecPlan>(const Napi::Value&);
template JoinPlan FromJs<JoinPlan>(const Napi::Value&);
template AttachTarget FromJs<AttachTarget>(const Napi::Value&);
template CapabilitySets FromJs<CapabilitySets>(const Napi::Value&);
template DevicePolicy FromJs<DevicePolicy>(const Napi::Value&);
template DeviceException FromJs<DeviceException>(const Napi::Value&);
template std::vector<V1Write> FromJs<std::vector<V1Write>>(const Napi::Value&);
template std::vector<uint32_t> FromJs<std::vector<uint32_t>>(const Napi::Value&);
template uint32_t FromJs<uint32_t>(const Napi::Value&);

}  // namespace nsbox
