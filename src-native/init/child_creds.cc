// Child stages: the UTS and network identity, then credentials and capabilities.
//
// Capabilities follow the order the mature runtimes settled on: the bounding set is
// dropped while CAP_SETPCAP is still held; keep-caps carries the permitted set over
// the uid change; capset then sets effective, permitted and inheritable; ambient is
// cleared and raised last (it needs the caps in permitted and inheritable).
#include <cstring>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "../handshake.h"
#include "../sys.h"
#include "child.h"

namespace nsbox {
namespace {

// The highest capability number the plan may name; the TS layer validated the sets
// against /proc/sys/kernel/cap_last_cap, so anything above 63 is never set.
constexpr int kMaxCap = 63;

bool Has(uint64_t set, int cap) { return (set >> cap) & 1; }

void DropBounding(uint64_t keep) {
  for (int cap = 0; cap <= kMaxCap; cap++) {
    if (Has(keep, cap)) continue;
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;  // EINVAL: past cap_last_cap
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) Fail("capabilities", "prctl(PR_CAPBSET_DROP)");
  }
}

void SetAmbient(const CapabilitySets& c) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    Fail("capabilities", "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  for (int cap = 0; cap <= kMaxCap; cap++)
    if (Has(c.ambient, cap) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      Fail("capabilities", "prctl(PR_CAP_AMBIENT_RAISE)");
}

}  // namespace

// keep-caps carries the permitted set over the uid change; capset then sets
// effective, permitted and inheritable.
void SetCredentials(uint32_t uid, uint32_t gid, const std::vector<uint32_t>& groups, const CapabilitySets& caps,
                    const char* ids_step, const char* caps_step) {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) Fail(ids_step, "prctl(PR_SET_KEEPCAPS)");
  if (sys::setgroups(groups.size(), groups.empty() ? nullptr : groups.data()) < 0) Fail(ids_step, "setgroups");
  if (sys::setresgid(gid, gid, gid) < 0) Fail(ids_step, "setresgid");
  if (sys::setresuid(uid, uid, uid) < 0) Fail(ids_step, "setresuid");
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    data[i].effective = static_cast<uint32_t>(caps.effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(caps.permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(caps.inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) Fail(caps_step, "capset");
}

void SetupNetwork(const ChildPlan& plan) {
  if (!plan.hostname.empty() &&
      syscall(SYS_sethostname, plan.hostname.c_str(), plan.hostname.size()) < 0)
    Fail("hostname", "sethostname", plan.hostname.c_str());
  if (!plan.domainname.empty() &&
      syscall(SYS_setdomainname, plan.domainname.c_str(), plan.domainname.size()) < 0)
    Fail("domainname", "setdomainname", plan.domainname.c_str());
  if (!plan.loopback_up) return;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) Fail("loopback", "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) Fail("loopback", "ioctl(SIOCGIFFLAGS)", "lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) Fail("loopback", "ioctl(SIOCSIFFLAGS)", "lo");
  close(s);
}

void InstallSeccomp(const SeccompProgram& sc) {
  std::vector<struct sock_filter> prog(sc.n / 2);
  for (size_t i = 0; i < prog.size(); i++) {
    uint32_t w = sc.words[2 * i];
    prog[i].code = static_cast<uint16_t>(w & 0xffff);
    prog[i].jt = static_cast<uint8_t>((w >> 16) & 0xff);
    prog[i].jf = static_cast<uint8_t>(w >> 24);
    prog[i].k = sc.words[2 * i + 1];
  }
  struct sock_fprog fprog = {static_cast<unsigned short>(prog.size()), prog.data()};
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, sc.flags, &fprog);
  if (listener < 0) Fail("seccomp", "seccomp(SECCOMP_SET_MODE_FILTER)");
  if (!(sc.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)) return;
  Report r;
  memset(&r, 0, sizeof(r));
  r.kind = Report::kListener;
  SendReportWithFd(r, static_cast<int>(listener));
  close(static_cast<int>(listener));
  // Nothing of the command runs before its listener has the fd: a parent that could
  // not hand it on closes the socket instead of answering.
  char ack = 0;
  if (sys::retry_eintr([&] { return recv(ReportFd(), &ack, 1, 0); }) != 1 || ack != kListenerAck) {
    errno = ECONNREFUSED;
    Fail("seccomp-listener", "handshake", "the filter's listener fd was not handed on");
  }
}

// The kernel takes a filter from a process with no_new_privs set, or holding
// CAP_SYS_ADMIN. With no_new_privs it goes in last (SeccompBeforeExec), so that as
// little of our own setup as possible runs under it; without, here, while the init
// still holds every capability, and the calls made after it (prctl, setgroups,
// setres[ug]id, capset, execve) must be ones the filter allows, as with runc.
void SetupCredentials(const ChildPlan& plan, const CapabilitySets& caps, const SeccompProgram& sc) {
  if (!plan.no_new_privileges && sc.n) InstallSeccomp(sc);
  DropBounding(caps.bounding);
  SetCredentials(plan.uid, plan.gid, plan.groups, caps, "credentials", "capabilities");
  SetAmbient(caps);
  if (plan.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    Fail("no-new-privileges", "prctl(PR_SET_NO_NEW_PRIVS)");
}

void SeccompBeforeExec(const ChildPlan& plan, const SeccompProgram& sc) {
  if (plan.no_new_privileges && sc.n) InstallSeccomp(sc);
}

}  // namespace nsbox
