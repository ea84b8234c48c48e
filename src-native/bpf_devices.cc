// See bpf_devices.h for the program's semantics and register layout.
#include "bpf_devices.h"

#include <cstring>
#include <string>
#include <unistd.h>

#include "sys.h"

namespace nsbox {
namespace {

enum Reg : uint8_t { R0 = 0, R1, R2, R3, R4, R5 };

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
bpf_insn LoadCtxWord(Reg dst, int16_t off) { return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, R1, off, 0); }
bpf_insn MovImm(Reg dst, int32_t imm) { return Insn(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn MovReg(Reg dst, Reg src) { return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn AluImm(uint8_t op, Reg dst, int32_t imm) { return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
bpf_insn JneImm(Reg dst, int32_t imm, int16_t off) { return Insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm); }
bpf_insn JeqImm(Reg dst, int32_t imm, int16_t off) { return Insn(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm); }
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

void AppendException(std::vector<bpf_insn>* p, const DeviceException& e, bool default_allow) {
  struct Check {
    Reg reg;
    int32_t value;
  };
  Check checks[3];
  int n = 0;
  checks[n++] = {R2, e.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK};
  if (e.major >= 0) checks[n++] = {R4, static_cast<int32_t>(e.major)};
  if (e.minor >= 0) checks[n++] = {R5, static_cast<int32_t>(e.minor)};
  // The access test and the return: mov r1, r3; and r1, mask; jump; mov r0, verdict; exit.
  constexpr int kTail = 5;
  for (int i = 0; i < n; i++)
    p->push_back(JneImm(checks[i].reg, checks[i].value, static_cast<int16_t>(n - i - 1 + kTail)));
  p->push_back(MovReg(R1, R3));
  if (default_allow) {
    p->push_back(AluImm(BPF_AND, R1, static_cast<int32_t>(e.access)));
    p->push_back(JeqImm(R1, 0, 2));  // no requested bit is denied here
    p->push_back(MovImm(R0, 0));
  } else {
    p->push_back(AluImm(BPF_AND, R1, static_cast<int32_t>(~e.access & 7)));
    p->push_back(JneImm(R1, 0, 2));  // some requested bit is not granted here
    p->push_back(MovImm(R0, 1));
  }
  p->push_back(Exit());
}

}  // namespace

std::vector<bpf_insn> BuildDeviceProgram(const DevicePolicy& policy) {
  std::vector<bpf_insn> p;
  p.push_back(LoadCtxWord(R2, offsetof(bpf_cgroup_dev_ctx, access_type)));
  p.push_back(MovReg(R3, R2));
  p.push_back(AluImm(BPF_RSH, R3, 16));
  p.push_back(AluImm(BPF_AND, R2, 0xffff));
  p.push_back(LoadCtxWord(R4, offsetof(bpf_cgroup_dev_ctx, major)));
  p.push_back(LoadCtxWord(R5, offsetof(bpf_cgroup_dev_ctx, minor)));
  for (const DeviceException& e : policy.exceptions) AppendException(&p, e, policy.default_allow);
  p.push_back(MovImm(R0, policy.default_allow ? 1 : 0));
  p.push_back(Exit());
  return p;
}

int LoadDeviceProgram(const DevicePolicy& policy, SetupError* err) {
  std::vector<bpf_insn> insns = BuildDeviceProgram(policy);
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = reinterpret_cast<uint64_t>("Apache-2.0");
  strncpy(attr.prog_name, "nsbox_devices", sizeof(attr.prog_name) - 1);
  attr.prog_flags = 0;
  int fd;
  // The verifier gives up with EAGAIN when a signal is pending; try again, as libbpf does.
  for (int attempt = 0; (fd = sys::bpf(BPF_PROG_LOAD, &attr, sizeof(attr))) < 0 && errno == EAGAIN && attempt < 10; attempt++) {
  }
  if (fd >= 0) {
    fcntl(fd, F_SETFD, FD_CLOEXEC);  // bpf() fds are close-on-exec already; be explicit
    return fd;
  }
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

int AttachedDeviceProgram(int cgroup_fd, const std::string& where, SetupError* err) {
  uint32_t ids[8] = {};
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(ids);
  attr.query.prog_cnt = 8;
  if (sys::bpf(BPF_PROG_QUERY, &attr, sizeof(attr)) < 0) return err->Set("attach", "bpf(BPF_PROG_QUERY)", where), -1;
  if (attr.query.prog_cnt == 0) return -1;
  if (attr.query.prog_cnt > 1) return err->Set("attach", "bpf(BPF_PROG_QUERY)", where + ": more than one device program", EEXIST), -1;
  memset(&attr, 0, sizeof(attr));
  attr.prog_id = ids[0];
  attr.open_flags = 0;
  int fd = sys::bpf(BPF_PROG_GET_FD_BY_ID, &attr, sizeof(attr));
  if (fd < 0) return err->Set("attach", "bpf(BPF_PROG_GET_FD_BY_ID)", where), -1;
  return fd;
}

}  // namespace nsbox
