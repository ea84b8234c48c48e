// See bpf_devices.h for the program's semantics and register layout.
#include "bpf_devices.h"

#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include "device_backend.h"
#include "sys.h"

namespace nsbox {
namespace {

enum Reg : uint8_t { R0 = 0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  memset(&i, 0, sizeof(i));
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn LoadWord(Reg dst, Reg src, int16_t off) { return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0); }
bpf_insn StoreWord(Reg base, int16_t off, Reg src) { return Insn(BPF_STX | BPF_MEM | BPF_W, base, src, off, 0); }
bpf_insn StoreImm(Reg base, int16_t off, int32_t imm) { return Insn(BPF_ST | BPF_MEM | BPF_W, base, 0, off, imm); }
bpf_insn MovImm(Reg dst, int32_t imm) { return Insn(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn Mov64(Reg dst, Reg src) { return Insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn Add64Imm(Reg dst, int32_t imm) { return Insn(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
bpf_insn AluImm(uint8_t op, Reg dst, int32_t imm) { return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
bpf_insn AluReg(uint8_t op, Reg dst, Reg src) { return Insn(BPF_ALU | op | BPF_X, dst, src, 0, 0); }
bpf_insn JneImm(Reg dst, int32_t imm, int16_t off) { return Insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm); }
bpf_insn JeqImm(Reg dst, int32_t imm, int16_t off) { return Insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm); }
bpf_insn Call(int32_t helper) { return Insn(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

struct Key {
  uint32_t type;  // BPF_DEVCG_DEV_BLOCK or BPF_DEVCG_DEV_CHAR
  int32_t major, minor;  // -1 for '*'
};
constexpr int16_t kKeyOff = -16;  // the key's place on the stack
constexpr uint32_t kMaxExceptions = 4096;

Key KeyOf(const DeviceException& e) {
  return {static_cast<uint32_t>(e.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK), static_cast<int32_t>(e.major),
          static_cast<int32_t>(e.minor)};
}

// One lookup of the key with the request's major (or -1) and minor (or -1).
void AppendLookup(std::vector<bpf_insn>* p, bool with_major, bool with_minor, bool default_allow, int map_fd) {
  p->push_back(with_major ? StoreWord(R10, kKeyOff + 4, R8) : StoreImm(R10, kKeyOff + 4, -1));
  p->push_back(with_minor ? StoreWord(R10, kKeyOff + 8, R9) : StoreImm(R10, kKeyOff + 8, -1));
  p->push_back(Insn(BPF_LD | BPF_DW | BPF_IMM, R1, BPF_PSEUDO_MAP_FD, 0, map_fd));
  p->push_back(Insn(0, 0, 0, 0, 0));  // the second half of the 64-bit load
  p->push_back(Mov64(R2, R10));
  p->push_back(Add64Imm(R2, kKeyOff));
  p->push_back(Call(BPF_FUNC_map_lookup_elem));
  if (default_allow) {
    // Denied when this exception takes any requested bit.
    p->push_back(JeqImm(R0, 0, 5));
    p->push_back(LoadWord(R1, R0, 0));
    p->push_back(AluReg(BPF_AND, R1, R7));
    p->push_back(JeqImm(R1, 0, 2));
    p->push_back(MovImm(R0, 0));
    p->push_back(Exit());
  } else {
    // Allowed when this exception grants every requested bit.
    p->push_back(JeqImm(R0, 0, 6));
    p->push_back(LoadWord(R1, R0, 0));
    p->push_back(AluImm(BPF_XOR, R1, -1));
    p->push_back(AluReg(BPF_AND, R1, R7));
    p->push_back(JneImm(R1, 0, 2));
    p->push_back(MovImm(R0, 1));
    p->push_back(Exit());
  }
}

int CreateMap(SetupError* err) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_type = BPF_MAP_TYPE_HASH;
  attr.key_size = sizeof(Key);
  attr.value_size = sizeof(uint32_t);
  attr.max_entries = kMaxExceptions;
  attr.map_flags = BPF_F_NO_PREALLOC;  // memory for the exceptions there are, not for 4096
  strncpy(attr.map_name, "nsbox_devices", sizeof(attr.map_name) - 1);
  int fd = sys::bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
  if (fd < 0) err->Set("device-rules", "bpf(BPF_MAP_CREATE)");
  return fd;
}

int LoadProgram(const DevicePolicy& policy, int map_fd, SetupError* err) {
  std::vector<bpf_insn> insns = BuildDeviceProgram(policy.default_allow, map_fd);
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = reinterpret_cast<uint64_t>("Apache-2.0");
  strncpy(attr.prog_name, "nsbox_devices", sizeof(attr.prog_name) - 1);
  int fd;
  // The verifier gives up with EAGAIN when a signal is pending; try again, as libbpf does.
  for (int attempt = 0; (fd = sys::bpf(BPF_PROG_LOAD, &attr, sizeof(attr))) < 0 && errno == EAGAIN && attempt < 10; attempt++) {
  }
  if (fd >= 0) return fd;
  int e = errno;
  std::string log(8192, '\0');
  // Load again with the verifier log so the error says why.
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  int again = sys::bpf(BPF_PROG_LOAD, &attr, sizeof(attr));
  if (again >= 0) close(again);
  err->Set("device-rules", "bpf(BPF_PROG_LOAD)",
           std::to_string(policy.exceptions.size()) + " exceptions: " + std::string(log.c_str()).substr(0, 400), e);
  return -1;
}

}  // namespace

std::vector<bpf_insn> BuildDeviceProgram(bool default_allow, int map_fd) {
  std::vector<bpf_insn> p;
  p.push_back(Mov64(R6, R1));
  p.push_back(LoadWord(R7, R6, offsetof(bpf_cgroup_dev_ctx, access_type)));
  p.push_back(Mov64(R2, R7));
  p.push_back(AluImm(BPF_AND, R2, 0xffff));
  p.push_back(AluImm(BPF_RSH, R7, 16));
  p.push_back(StoreWord(R10, kKeyOff, R2));
  p.push_back(LoadWord(R8, R6, offsetof(bpf_cgroup_dev_ctx, major)));
  p.push_back(LoadWord(R9, R6, offsetof(bpf_cgroup_dev_ctx, minor)));
  for (int major : {1, 0})
    for (int minor : {1, 0}) AppendLookup(&p, major, minor, default_allow, map_fd);
  p.push_back(MovImm(R0, default_allow ? 1 : 0));
  p.push_back(Exit());
  return p;
}

bool SetDeviceException(int map_fd, const DeviceException& e, const std::string& where, SetupError* err) {
  Key key = KeyOf(e);
  uint32_t access = e.access;
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_fd = static_cast<uint32_t>(map_fd);
  attr.key = reinterpret_cast<uint64_t>(&key);
  if (access == 0) {
    if (sys::bpf(BPF_MAP_DELETE_ELEM, &attr, sizeof(attr)) < 0 && errno != ENOENT)
      return err->Set("device-rules", "bpf(BPF_MAP_DELETE_ELEM)", where);
    return true;
  }
  attr.value = reinterpret_cast<uint64_t>(&access);
  attr.flags = BPF_ANY;
  if (sys::bpf(BPF_MAP_UPDATE_ELEM, &attr, sizeof(attr)) < 0) return err->Set("device-rules", "bpf(BPF_MAP_UPDATE_ELEM)", where);
  return true;
}

bool LoadDeviceProgram(const DevicePolicy& policy, DeviceProgram* out, SetupError* err) {
  DeviceProgram p;
  if (policy.exceptions.size() > kMaxExceptions) {
    return err->Set("device-rules", "bpf(BPF_MAP_CREATE)", std::to_string(policy.exceptions.size()) + " exceptions", E2BIG);
  }
  p.map = CreateMap(err);
  if (p.map < 0) return false;
  for (const DeviceException& e : policy.exceptions) {
    if (!SetDeviceException(p.map, e, "the device map", err)) return CloseDeviceProgram(&p), false;
  }
  p.prog = LoadProgram(policy, p.map, err);
  if (p.prog < 0) return CloseDeviceProgram(&p), false;
  *out = p;
  return true;
}

void CloseDeviceProgram(DeviceProgram* p) {
  if (p->prog >= 0) close(p->prog);
  if (p->map >= 0) close(p->map);
  p->prog = p->map = -1;
}

bool AttachDeviceProgram(int cgroup_fd, int prog, int replace, const std::string& where,
                         SetupError* err) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI | (replace >= 0 ? BPF_F_REPLACE : 0);
  attr.replace_bpf_fd = replace >= 0 ? static_cast<uint32_t>(replace) : 0;
  if (sys::bpf(BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
    return err->Set("device-rules", "bpf(BPF_PROG_ATTACH)", where);
  return true;
}

namespace {

// The device program attached to `cgroup_fd` (for a container created by another
// process) and its map. False with err filled on failure; true with out->prog -1 when
// none is attached. Our containers carry exactly one.
bool AttachedDeviceProgram(int cgroup_fd, const std::string& where, DeviceProgram* out, SetupError* err) {
  uint32_t ids[8] = {};
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(ids);
  attr.query.prog_cnt = 8;
  if (sys::bpf(BPF_PROG_QUERY, &attr, sizeof(attr)) < 0) return err->Set("attach", "bpf(BPF_PROG_QUERY)", where);
  if (attr.query.prog_cnt == 0) return true;
  if (attr.query.prog_cnt > 1) return err->Set("attach", "bpf(BPF_PROG_QUERY)", where + ": more than one device program", EEXIST);
  memset(&attr, 0, sizeof(attr));
  attr.prog_id = ids[0];
  int prog = sys::bpf(BPF_PROG_GET_FD_BY_ID, &attr, sizeof(attr));
  if (prog < 0) return err->Set("attach", "bpf(BPF_PROG_GET_FD_BY_ID)", where);
  // Its map, for updates in place; without one, every change loads a new program.
  uint32_t map_ids[1] = {0};
  struct bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  info.nr_map_ids = 1;
  info.map_ids = reinterpret_cast<uint64_t>(map_ids);
  memset(&attr, 0, sizeof(attr));
  attr.info.bpf_fd = static_cast<uint32_t>(prog);
  attr.info.info_len = sizeof(info);
  attr.info.info = reinterpret_cast<uint64_t>(&info);
  int map = -1;
  if (sys::bpf(BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)) == 0 && info.nr_map_ids == 1) {
    memset(&attr, 0, sizeof(attr));
    attr.map_id = map_ids[0];
    map = sys::bpf(BPF_MAP_GET_FD_BY_ID, &attr, sizeof(attr));
  }
  out->prog = prog;
  out->map = map;
  return true;
}

int Dup(int fd) { return fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1; }

// The cgroup2 backend: a program with the policy's default and a map of its
// exceptions. A change of one exception is one map update; anything else loads a new
// program with a new map and swaps it in atomically.
class BpfDevices : public DeviceBackend {
 public:
  explicit BpfDevices(std::string dir, DeviceProgram prog = {}) : dir_(std::move(dir)), prog_(prog) {}
  ~BpfDevices() override { CloseDeviceProgram(&prog_); }
  bool Apply(const DevicePolicy& policy, const std::vector<V1Write>&, int cgroup_fd, SetupError* err) override {
    if (!LoadDeviceProgram(policy, &prog_, err)) return false;
    return AttachDeviceProgram(cgroup_fd, prog_.prog, -1, dir_, err);
  }
  bool Update(const DevicePolicy& policy, const std::vector<V1Write>&, const DeviceException* single, int cgroup_fd,
              SetupError* err) override {
    if (single && prog_.map >= 0) {
      SetupError in_place;
      if (SetDeviceException(prog_.map, *single, dir_, &in_place)) return true;
      // The map is full (E2BIG) or gone: a new program holds the whole policy.
    }
    DeviceProgram next;
    if (!LoadDeviceProgram(policy, &next, err)) return false;
    if (!AttachDeviceProgram(cgroup_fd, next.prog, prog_.prog, dir_, err)) return CloseDeviceProgram(&next), false;
    CloseDeviceProgram(&prog_);
    prog_ = next;
    return true;
  }
  bool Find(int cgroup_fd, SetupError* err) override { return AttachedDeviceProgram(cgroup_fd, dir_, &prog_, err); }
  std::unique_ptr<DeviceBackend> Copy() const override {
    return std::make_unique<BpfDevices>(dir_, DeviceProgram{Dup(prog_.prog), Dup(prog_.map)});
  }

 private:
  std::string dir_;
  DeviceProgram prog_;
};

}  // namespace

std::unique_ptr<DeviceBackend> NewBpfDevices(const std::string& v2_dir) { return std::make_unique<BpfDevices>(v2_dir); }

}  // namespace nsbox
