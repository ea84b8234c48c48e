// The N-API surface: create() and the NativeContainer handle.
//
// Everything that can block (cgroup mkdir/rmdir, clone and the setup handshake,
// start) runs on a libuv worker via AsyncWorker; exits are observed with the pidfd
// polled on the event loop, read with waitid(P_PIDFD, WNOWAIT) and reaped by the
// release on a worker; never waitpid(-1).
#include <napi.h>
#include <uv.h>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>

#include <atomic>
#include <sys/wait.h>

#include "cgroup.h"
#include "low_priority.h"
#include "plan_from_js.h"
#include "spawn.h"
#include "sys.h"

namespace nsbox {
namespace {

// NativeContainer's constructor of this environment (each worker thread loads its own).
Napi::Object NewNativeContainer(Napi::Env env) { return env.GetInstanceData<Napi::FunctionReference>()->New({}); }

Napi::Error ToJsError(Napi::Env env, const SetupError& e) {
  std::string msg = e.step + ": " + e.syscall + ": " + strerror(e.err);
  if (!e.detail.empty()) msg += " (" + e.detail + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("errno", Napi::Number::New(env, e.err));
  err.Set("step", Napi::String::New(env, e.step));
  err.Set("syscall", Napi::String::New(env, e.syscall));
  err.Set("detail", Napi::String::New(env, e.detail));
  return err;
}

// Frees an exited child whose status was already read, and closes its pidfd.
void ReapZombie(int* pidfd) {
  if (*pidfd < 0) return;
  siginfo_t si;
  waitid(static_cast<idtype_t>(P_PIDFD), *pidfd, &si, WEXITED | WNOHANG | __WALL);
  CloseFd(pidfd);
}

// An AsyncWorker that settles a promise with SetupError-shaped rejections.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  virtual bool Run(SetupError* err) = 0;
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  // The work finished while its environment ends (a worker thread terminated): no JS
  // will see the result, so what it holds is let go here.
  virtual void Abandon() {}
  void Execute() override { ok_ = Run(&err_); }
  void OnOK() override {
    Napi::Env env = Env();
    // Creating the result or settling the promise fails once the environment can no
    // longer run JS; an exception here would end the process.
    try {
      if (ok_) deferred_.Resolve(Result(env));
      else deferred_.Reject(ToJsError(env, err_).Value());
    } catch (const Napi::Error&) {
      Abandon();
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  SetupError err_;
  bool ok_ = false;
};

// Queues `w`; its promise settles when it is done.
Napi::Promise Queued(PromiseWorker* w) {
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// Removes a container's cgroup directories, off the event loop. `kill_first`: any
// process still in them (a container without a pid namespace whose init is gone) is
// killed first, as the init's death would have done.
class ReleaseWorker : public PromiseWorker {
 public:
  ReleaseWorker(Napi::Env env, std::string v2, std::vector<std::string> v1, bool kill_first = false, int zombie_pidfd = -1)
      : PromiseWorker(env, "nsbox:release"), v2_(std::move(v2)), v1_(std::move(v1)), kill_first_(kill_first),
        zombie_(zombie_pidfd) {}
  ~ReleaseWorker() override { CloseFd(&zombie_); }
  bool Run(SetupError* err) override {
    LowPriority low(getpriority(PRIO_PROCESS, 0));
    // The init exited and its status was read (NativeContainer::Exited); freeing the
    // task is left to here, off the event loop.
    ReapZombie(&zombie_);
    if (kill_first_ && !v2_.empty()) {
      SetupError ignored;  // gone already, or a kernel without cgroup.kill
      KillCgroup(v2_, &ignored);
    }
    bool ok = RemoveCgroupDirs(v1_, v2_, err);
    // Each container's plan, handles and buffers are malloc'd on the main thread
    // and on workers, and freed; glibc keeps the freed pages of every arena. Now
    // and then they go back to the system, here, off the event loop (a trim of a few
    // MiB of arenas costs tens of microseconds).
    static std::atomic<unsigned> releases{0};
    if (++releases % kTrimEvery == 0) malloc_trim(0);
    return ok;
  }
  static constexpr unsigned kTrimEvery = 8;

 private:
  std::string v2_;
  std::vector<std::string> v1_;
  bool kill_first_;
  int zombie_;
};

// A copy for a worker (close-on-exec, above stdio), or -1 for none.
int Dup(int fd) { return fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1; }

class NativeContainer : public Napi::ObjectWrap<NativeContainer> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeContainer",
                       {InstanceAccessor<&NativeContainer::Pid>("pid"),
                        InstanceMethod<&NativeContainer::TakeStdio>("takeStdio"),
                        InstanceMethod<&NativeContainer::StartJs>("start"),
                        InstanceMethod<&NativeContainer::ResumeJs>("resume"),
                        InstanceMethod<&NativeContainer::Signal>("signal"),
                        InstanceMethod<&NativeContainer::KillAll>("killAll"),
                        InstanceMethod<&NativeContainer::OnExit>("onExit"),
                        InstanceMethod<&NativeContainer::Release>("release"),
                        InstanceMethod<&NativeContainer::UpdateDevices>("updateDevices"),
                        InstanceMethod<&NativeContainer::JoinJs>("join"),
                        InstanceMethod<&NativeContainer::ExecJs>("exec")});
  }

  explicit NativeContainer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeContainer>(info) {}
  ~NativeContainer() override {
    CloseAll();
    delete async_ctx_;
  }

  // `owned`: this environment made the container and it dies with its creator (not
  // detached, not attached from a handle): it is destroyed when the environment ends.
  // `v1_dir`: the v1 devices directory (joins go there); `v1_dirs`: every v1 directory.
  void Adopt(Napi::Env env, Spawned&& s, const std::string& v2_dir, const std::string& v1_dir, std::vector<std::string> v1_dirs,
             bool own_pidns, bool owned) {
    Link(env);
    s_ = std::move(s);
    v2_dir_ = v2_dir;
    v1_dir_ = v1_dir;
    v1_dirs_ = std::move(v1_dirs);
    own_pidns_ = own_pidns;
    owned_ = owned;
  }

 private:
  // Works on its own copy of the handshake socket (or, detached, the one handed over):
  // a destroy() that releases the container meanwhile closes the container's, and a
  // number reused by then must never carry these capability sets to another init.
  class StartWorker : public PromiseWorker {
   public:
    StartWorker(Napi::Env env, int sync, CapabilitySets caps, std::vector<uint32_t> seccomp, uint32_t seccomp_flags, bool detached,
                Listener listener)
        : PromiseWorker(env, "nsbox:start"), sync_(detached ? sync : Dup(sync)), caps_(caps), seccomp_(std::move(seccomp)),
          seccomp_flags_(seccomp_flags), detached_(detached), listener_(std::move(listener)) {}
    ~StartWorker() override { CloseFd(&sync_); }
    bool Run(SetupError* err) override {
      if (sync_ < 0) return err->Set("start", "dup", "the handshake socket", EBADF);
      return nsbox::Start(sync_, caps_, seccomp_, seccomp_flags_, detached_, listener_, err);
    }

   private:
    int sync_;
    CapabilitySets caps_;
    std::vector<uint32_t> seccomp_;
    uint32_t seccomp_flags_;
    bool detached_;
    Listener listener_;
  };

  // Lets an init paused for the runtime's hooks go on, on its own copy of the socket
  // (as StartWorker does), and waits until its setup is done.
  class ResumeWorker : public PromiseWorker {
   public:
    ResumeWorker(Napi::Env env, int sync) : PromiseWorker(env, "nsbox:resume"), sync_(Dup(sync)) {}
    ~ResumeWorker() override { CloseFd(&sync_); }
    bool Run(SetupError* err) override {
      if (sync_ < 0) return err->Set("setup", "dup", "the handshake socket", EBADF);
      return nsbox::Resume(sync_, err);
    }

   private:
    int sync_;
  };

  // A live change of the device rules, on a copy of the container's backend (its own
  // fds: release() may close the container's meanwhile), which becomes the
  // container's when it succeeded.
  class UpdateDevicesWorker : public PromiseWorker {
   public:
    UpdateDevicesWorker(Napi::Env env, NativeContainer* c, DevicePolicy policy, std::vector<V1Write> writes,
                        bool has_single, DeviceException single)
        : PromiseWorker(env, "nsbox:devices"), c_(c), ref_(Napi::Persistent(c->Value())), policy_(std::move(policy)),
          writes_(std::move(writes)), devices_(c->s_.devices ? c->s_.devices->Copy() : nullptr),
          cgroup_fd_(Dup(c->s_.cgroup_v2_dir)), has_single_(has_single), single_(single) {}
    ~UpdateDevicesWorker() override { CloseFd(&cgroup_fd_); }
    bool Run(SetupError* err) override {
      if (!devices_) return err->Set("device-rules", "pidfd", "the container is released", ESRCH);
      return devices_->Update(policy_, writes_, has_single_ ? &single_ : nullptr, cgroup_fd_, err);
    }
    Napi::Value Result(Napi::Env env) override {
      // A container released meanwhile keeps nothing (the destructor closes ours).
      if (!c_->released_) c_->s_.devices = std::move(devices_);
      return env.Undefined();
    }

   private:
    NativeContainer* c_;
    Napi::ObjectReference ref_;  // keeps the container alive while we run
    DevicePolicy policy_;
    std::vector<V1Write> writes_;
    std::unique_ptr<DeviceBackend> devices_;
    int cgroup_fd_;
    bool has_single_;
    DeviceException single_;
  };

  // A join or an exec works on its own copies of the container's pidfd and cgroup
  // fd: destroy() may release the container's own while it runs, and a closed fd's
  // number may by then name something else.
  struct OwnTarget {
    JoinTarget t;
    explicit OwnTarget(const NativeContainer* c) {
      t.pidfd = Dup(c->s_.pidfd);
      t.cgroup_v2_fd = Dup(c->s_.cgroup_v2_dir);
      t.v1_dir = c->v1_dir_;
      t.v1_dirs = c->v1_dirs_;
    }
    ~OwnTarget() {
      CloseFd(&t.pidfd);
      CloseFd(&t.cgroup_v2_fd);
    }
  };

  class JoinWorker : public PromiseWorker {
   public:
    JoinWorker(Napi::Env env, NativeContainer* c, JoinPlan plan)
        : PromiseWorker(env, "nsbox:join"), ref_(Napi::Persistent(c->Value())), plan_(std::move(plan)), target_(c) {}
    bool Run(SetupError* err) override { return nsbox::Join(plan_, target_.t, err); }

   private:
    Napi::ObjectReference ref_;
    JoinPlan plan_;
    OwnTarget target_;
  };

  class ExecWorker : public PromiseWorker {
   public:
    ExecWorker(Napi::Env env, NativeContainer* c, ExecPlan plan)
        : PromiseWorker(env, "nsbox:exec"), ref_(Napi::Persistent(c->Value())), plan_(std::move(plan)), target_(c) {}
    bool Run(SetupError* err) override { return nsbox::ExecIn(plan_, target_.t, &result_, err); }
    // { pid, helper }: helper is a handle on the waiting helper (not detached), whose
    // exit is the command's.
    Napi::Value Result(Napi::Env env) override {
      Napi::Object out = Napi::Object::New(env);
      out.Set("pid", Napi::Number::New(env, result_.pid));
      // Our ends of the command's pipes (-1 each without 'pipe'); JS owns them from here.
      Napi::Array stdio = Napi::Array::New(env, 3);
      for (uint32_t i = 0; i < 3; i++) stdio.Set(i, Napi::Number::New(env, result_.stdio[i]));
      out.Set("stdio", stdio);
      if (result_.pidfd >= 0) {
        Napi::Object helper = NewNativeContainer(env);
        Spawned s;
        s.pid = result_.helper_pid;
        s.pidfd = result_.pidfd;
        result_.pidfd = -1;
        NativeContainer* h = NativeContainer::Unwrap(helper);
        h->Link(env);
        h->s_ = std::move(s);
        out.Set("helper", helper);
      } else {
        out.Set("helper", env.Null());
      }
      // Handed over only now: until here a throw leaves them to Abandon().
      for (int& fd : result_.stdio) fd = -1;
      return out;
    }

    // The helper waits for the command; nobody will: it is reaped when it ends, by
    // nobody, so it is let go to its own end (the container's destruction ends it).
    void Abandon() override {
      CloseFd(&result_.pidfd);
      for (int& fd : result_.stdio) CloseFd(&fd);
    }

   private:
    Napi::ObjectReference ref_;
    ExecPlan plan_;
    OwnTarget target_;
    ExecResult result_;
  };

  static Napi::Error Gone(Napi::Env env, const char* step) {
    SetupError e;
    e.Set(step, "pidfd", "the container's init is gone", ESRCH);
    return ToJsError(env, e);
  }

  Napi::Value Pid(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), s_.pid); }

  // Hands the parent's pipe ends to JS, which owns them from now on.
  Napi::Value TakeStdio(const Napi::CallbackInfo& info) {
    Napi::Array a = Napi::Array::New(info.Env(), 3);
    for (uint32_t i = 0; i < 3; i++) {
      a.Set(i, Napi::Number::New(info.Env(), s_.stdio[i]));
      s_.stdio[i] = -1;
    }
    return a;
  }

  Napi::Value StartJs(const Napi::CallbackInfo& info) {
    bool detached = info[1].ToBoolean().Value();
    int sync = s_.sync;
    // A detached init reads nothing more: the socket is done with once the message is out.
    if (detached) s_.sync = -1;
    // info[2]: the filter built for these capability sets (Uint32Array, possibly empty); info[3]: its flags;
    // info[4]: its listener ({ path, head, tail }) or null.
    Listener listener;
    listener.pid = s_.pid;
    if (info[4].IsObject()) {
      Napi::Object l = info[4].As<Napi::Object>();
      listener.path = l.Get("path").As<Napi::String>().Utf8Value();
      listener.head = l.Get("head").As<Napi::String>().Utf8Value();
      listener.tail = l.Get("tail").As<Napi::String>().Utf8Value();
    }
    return Queued(new StartWorker(info.Env(), sync, FromJs<CapabilitySets>(info[0]), FromJs<std::vector<uint32_t>>(info[2]),
                                  FromJs<uint32_t>(info[3]), detached, std::move(listener)));
  }

  Napi::Value ResumeJs(const Napi::CallbackInfo& info) { return Queued(new ResumeWorker(info.Env(), s_.sync)); }

  Napi::Value ExecJs(const Napi::CallbackInfo& info) {
    if (s_.pidfd < 0 || exited_) throw Gone(info.Env(), "exec");
    return Queued(new ExecWorker(info.Env(), this, FromJs<ExecPlan>(info[0])));
  }

  Napi::Value UpdateDevices(const Napi::CallbackInfo& info) {
    // info[2]: the one exception that changed ({ type, major, minor, access }, access 0
    // when it went), or null.
    bool has_single = info[2].IsObject();
    DeviceException single = has_single ? FromJs<DeviceException>(info[2]) : DeviceException{};
    return Queued(new UpdateDevicesWorker(info.Env(), this, FromJs<DevicePolicy>(info[0]),
                                          FromJs<std::vector<V1Write>>(info[1]), has_single, single));
  }

  Napi::Value JoinJs(const Napi::CallbackInfo& info) {
    if (s_.pidfd < 0 || exited_) throw Gone(info.Env(), "join");
    return Queued(new JoinWorker(info.Env(), this, FromJs<JoinPlan>(info[0])));
  }

  // kill(signal) on the init; a pidfd cannot hit a recycled pid.
  Napi::Value Signal(const Napi::CallbackInfo& info) {
    int sig = info[0].As<Napi::Number>().Int32Value();
    if (s_.pidfd < 0 || exited_) return Napi::Boolean::New(info.Env(), false);
    if (sys::pidfd_send_signal(s_.pidfd, sig) < 0) {
      if (errno == ESRCH) return Napi::Boolean::New(info.Env(), false);
      SetupError e;
      e.Set("kill", "pidfd_send_signal", std::to_string(sig));
      throw ToJsError(info.Env(), e);
    }
    return Napi::Boolean::New(info.Env(), true);
  }

  // SIGKILL to every process of the container. With a pid namespace, the init: its
  // death takes every process of the namespace along, and the exec helpers (outside
  // it, in the cgroup) reap their commands and end with them; a cgroup.kill would end
  // the helpers first and leave their commands' zombies to the host's pid 1, which
  // the namespace's end then waits for. Without one, cgroup.kill where the kernel has
  // it, else the init.
  void KillProcesses() {
    SetupError e;
    bool init_alive = !exited_ && s_.pidfd >= 0;
    if (own_pidns_) {
      if (init_alive) sys::pidfd_send_signal(s_.pidfd, SIGKILL);
      return;
    }
    // Without one, also after the init is gone: what it left running is in the cgroup.
    if (v2_dir_.size() && KillCgroup(v2_dir_, &e)) return;
    if (init_alive) sys::pidfd_send_signal(s_.pidfd, SIGKILL);
  }

  Napi::Value KillAll(const Napi::CallbackInfo& info) {
    KillProcesses();
    return info.Env().Undefined();
  }

  // Calls back once with (exitCode, signal) when the init exits; Release() reaps it.
  Napi::Value OnExit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!link_ || link_->poll_open || s_.pidfd < 0) throw Napi::Error::New(env, "onExit: already watching");
    exit_cb_ = Napi::Persistent(info[0].As<Napi::Function>());
    async_ctx_ = new Napi::AsyncContext(env, "nsbox:exit");
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    uv_poll_init(loop, &link_->poll, s_.pidfd);
    link_->poll.data = link_;
    link_->poll_open = polling_ = true;
    Ref();  // stays alive while its process runs
    uv_poll_start(&link_->poll, UV_READABLE, [](uv_poll_t* h, int, int) {
      static_cast<EnvLink*>(h->data)->owner->Exited();
    });
    return env.Undefined();
  }

  void Exited() {
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    bool unknown = false;
    // WNOWAIT: the status now, the task freed later by the release on a worker. Freeing
    // it (release_task) takes the kernel's task list lock for writing, which other
    // CPUs' forks and exits contend for: up to milliseconds on this thread otherwise.
    if (waitid(static_cast<idtype_t>(P_PIDFD), s_.pidfd, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0) {
      // Not our child (an attached container): a readable pidfd means it exited, but
      // its status went to its parent.
      if (errno != ECHILD) return;
      unknown = true;
    } else if (si.si_pid == 0) {
      return;  // spurious wake-up: keep polling
    }
    exited_ = true;
    zombie_ = !unknown;
    StopPolling();
    Napi::Env env = Env();
    Napi::FunctionReference cb = std::move(exit_cb_);
    Napi::AsyncContext* ctx = async_ctx_;
    async_ctx_ = nullptr;
    // Called from the loop, not from JS: an exception here would end the process. One
    // comes when the environment is ending (a worker thread terminated) and JS can no
    // longer run; nobody is left to be told then.
    try {
      Napi::HandleScope scope(env);
      Napi::Value code = unknown ? env.Null() : si.si_code == CLD_EXITED ? Napi::Number::New(env, si.si_status) : env.Null();
      Napi::Value sig = unknown || si.si_code == CLD_EXITED ? env.Null() : Napi::Number::New(env, si.si_status);
      cb.MakeCallback(env.Global(), {code, sig}, *ctx);
    } catch (const Napi::Error&) {
    }
    delete ctx;
    napi_reference_unref(env, static_cast<napi_ref>(*this), nullptr);  // Unref() without a throw
  }

  // A container's tie to its environment, which may end before the container does (a
  // worker thread terminated). It holds the exit poll and an async cleanup hook: Node
  // keeps the loop turning until the hook is removed, so the poll's close callback,
  // code of this addon, runs before the addon is unloaded. The hook goes once the
  // container is released (or destroyed) and the poll is closed, whichever is last.
  struct EnvLink {
    uv_poll_t poll;
    napi_async_cleanup_hook_handle hook = nullptr;
    NativeContainer* owner = nullptr;  // null once released
    bool poll_open = false;            // initialized and not yet closed
  };

  static void MaybeUnlink(EnvLink* l) {
    if (l->owner || l->poll_open) return;
    napi_remove_async_cleanup_hook(l->hook);
    delete l;
  }

  void Link(Napi::Env env) {
    link_ = new EnvLink;
    link_->owner = this;
    napi_add_async_cleanup_hook(env, &NativeContainer::EnvEnding, link_, &link_->hook);
  }

  // Called once the container's fds are closed for good.
  void Unlink() {
    if (!link_) return;
    link_->owner = nullptr;
    EnvLink* l = link_;
    link_ = nullptr;
    MaybeUnlink(l);
  }

  void StopPolling() {
    if (!link_ || !polling_) return;
    polling_ = false;
    uv_poll_stop(&link_->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&link_->poll), [](uv_handle_t* h) {
      EnvLink* l = static_cast<EnvLink*>(h->data);
      l->poll_open = false;
      MaybeUnlink(l);
    });
  }

  // The environment ends before the container was released. One it made dies with
  // it, as with its creator's death: killed, reaped and its cgroups removed, here on
  // the thread that ends (a SIGKILLed init exits within milliseconds). A detached or
  // attached one is left running; only our fds on it close.
  static constexpr int kEnvEndingReapMs = 5000;
  static void EnvEnding(napi_async_cleanup_hook_handle, void* arg) {
    EnvLink* l = static_cast<EnvLink*>(arg);
    NativeContainer* c = l->owner;
    // Released already, its poll still closing: the close callback removes the hook.
    if (!c) return;
    if (c->owned_) c->KillProcesses();
    if (c->owned_ && c->s_.pidfd >= 0 && (c->zombie_ || !c->exited_)) {
      // libuv made the pidfd non-blocking: wait for it to become readable (bounded).
      struct pollfd p = {c->s_.pidfd, POLLIN, 0};
      sys::retry_eintr([&] { return poll(&p, 1, kEnvEndingReapMs); });
      ReapZombie(&c->s_.pidfd);
      c->zombie_ = false;
    }
    if (c->owned_) {
      SetupError ignored;
      RemoveCgroupDirs(c->v1_dirs_, c->v2_dir_, &ignored);
    }
    c->CloseAll();  // stops polling and unlinks
  }

  // After exit: closes every fd the container held and removes its cgroups.
  Napi::Value Release(const Napi::CallbackInfo& info) {
    int zombie = -1;
    if (zombie_) std::swap(zombie, s_.pidfd);
    zombie_ = false;
    CloseAll();
    return Queued(new ReleaseWorker(info.Env(), v2_dir_, v1_dirs_, false, zombie));
  }

  void CloseAll() {
    released_ = true;  // nothing may install fds into it from here on
    StopPolling();
    Unlink();
    // Never released (the object was collected first): reap here rather than leave a
    // zombie for the life of the process.
    if (zombie_) ReapZombie(&s_.pidfd);
    zombie_ = false;
    CloseFd(&s_.sync);
    CloseFd(&s_.pidfd);
    CloseFd(&s_.cgroup_v2_dir);
    s_.devices.reset();
    for (int& fd : s_.stdio) CloseFd(&fd);
  }

  Spawned s_;
  std::string v2_dir_, v1_dir_;
  std::vector<std::string> v1_dirs_;
  bool exited_ = false;
  bool zombie_ = false;  // exited, status read with WNOWAIT, not yet reaped
  bool owned_ = false;
  bool released_ = false;
  bool own_pidns_ = false;  // the init leads a pid namespace of its own
  bool polling_ = false;
  EnvLink* link_ = nullptr;
  Napi::FunctionReference exit_cb_;
  Napi::AsyncContext* async_ctx_ = nullptr;
};

class CreateWorker : public PromiseWorker {
 public:
  CreateWorker(Napi::Env env, ChildPlan plan) : PromiseWorker(env, "nsbox:create"), plan_(std::move(plan)) {}
  bool Run(SetupError* err) override { return Spawn(plan_, &spawned_, err); }
  Napi::Value Result(Napi::Env env) override {
    // The constructor of this environment (each worker thread loads its own).
    Napi::Object obj = NewNativeContainer(env);
    NativeContainer::Unwrap(obj)->Adopt(env, std::move(spawned_), plan_.cgroup_v2_dir, plan_.cgroup_v1_devices,
                                        V1Dirs(plan_.cgroup_v1), plan_.namespaces.flags & CLONE_NEWPID, plan_.start_fifo.empty());
    adopted_ = true;
    return obj;
  }
  // Made while its environment ended: nobody will ever start it.
  void Abandon() override {
    if (adopted_ || spawned_.pidfd < 0) return;
    DiscardSpawned(&spawned_);
    SetupError ignored;
    RemoveCgroupDirs(V1Dirs(plan_.cgroup_v1), plan_.cgroup_v2_dir, &ignored);
  }

 private:
  ChildPlan plan_;
  Spawned spawned_;
  bool adopted_ = false;
};

// A handle on a container made by another process, found by its init's pid and its
// cgroups: pidfd_open (a later recycled pid cannot be hit through it), the cgroup2
// directory, and the attached device program so that updates replace it.
Napi::Value Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AttachTarget t = FromJs<AttachTarget>(info[0]);
  SetupError e;
  Spawned s;
  // Not ours to kill: only our fds on it close.
  auto fail = [&]() {
    CloseFd(&s.pidfd);
    CloseFd(&s.cgroup_v2_dir);
    return ToJsError(env, e);
  };
  s.pid = t.pid;
  s.pidfd = sys::pidfd_open(t.pid);
  if (s.pidfd < 0) {
    e.Set("attach", "pidfd_open", std::to_string(t.pid));
    throw fail();
  }
  s.devices = NewDeviceBackend(t.device_backend, t.cgroup_v1_devices, t.cgroup_v2_dir);
  if (!t.cgroup_v2_dir.empty()) {
    s.cgroup_v2_dir = open(t.cgroup_v2_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s.cgroup_v2_dir < 0) {
      e.Set("attach", "open", t.cgroup_v2_dir);
      throw fail();
    }
    if (!s.devices->Find(s.cgroup_v2_dir, &e)) throw fail();
  }
  Napi::Object obj = NewNativeContainer(env);
  NativeContainer::Unwrap(obj)->Adopt(env, std::move(s), t.cgroup_v2_dir, t.cgroup_v1_devices, t.cgroup_v1, t.pid_namespace, false);
  return obj;
}

// The cgroups of a container whose init is gone, from its handle (another process
// made it): releaseCgroups(v2Dir, v1Dirs).
Napi::Value ReleaseCgroups(const Napi::CallbackInfo& info) {
  std::vector<std::string> v1;
  Napi::Array dirs = info[1].As<Napi::Array>();
  for (uint32_t i = 0; i < dirs.Length(); i++) v1.push_back(dirs.Get(i).As<Napi::String>().Utf8Value());
  return Queued(new ReleaseWorker(info.Env(), info[0].As<Napi::String>().Utf8Value(), std::move(v1), true));
}

// cgroupMarkers(dir): { id, creator } of a cgroup directory this library made ("" for
// a marker it does not carry).
Napi::Value CgroupMarkers(const Napi::CallbackInfo& info) {
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("id", Napi::String::New(info.Env(), ReadMarker(dir, kIdXattr)));
  o.Set("creator", Napi::String::New(info.Env(), ReadMarker(dir, kCreatorXattr)));
  return o;
}

Napi::Value Create(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "create(plan): plan must be an object");
  return Queued(new CreateWorker(info.Env(), FromJs<ChildPlan>(info[0])));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = NativeContainer::Init(env);
  // One constructor per environment (worker threads each load the addon); node-addon-api
  // deletes it when the environment ends.
  env.SetInstanceData(new Napi::FunctionReference(Napi::Persistent(ctor)));
  exports.Set("create", Napi::Function::New(env, Create));
  exports.Set("attach", Napi::Function::New(env, Attach));
  exports.Set("releaseCgroups", Napi::Function::New(env, ReleaseCgroups));
  exports.Set("cgroupMarkers", Napi::Function::New(env, CgroupMarkers));
  return exports;
}

}  // namespace nsbox

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return nsbox::Init(env, exports); }
NODE_API_MODULE(nsbox, InitAddon)
