// SPDX-License-Identifier: GPL-2.0
#include "daemon.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <cstring>
#include <ctime>
#include <set>
#include <thread>
#include <vector>

#if KQ_WITH_BPF
#include "quanta_tracer.hpp"
#else
namespace kq::bpfq {
class QuantaTracer {};  // only so that the unique_ptr member can be destroyed
}  // namespace kq::bpfq
#endif
#include "metrics_server.hpp"
#include "naming.hpp"
#include "sysfs.hpp"

namespace kq::quantad {

namespace {

class NetlinkTelemetry : public Telemetry {
 public:
  explicit NetlinkTelemetry(std::unique_ptr<nl::Client> c) : c_(std::move(c)) {}
  int Receive(int timeout_ms, const std::function<void(const nl::Message&)>& fn,
              std::string* error) override {
    return c_->Receive(timeout_ms, fn, error);
  }
  uint64_t enobufs() const override { return c_->enobufs(); }
  const nl::BadNotifications& bad_notifications() const override { return c_->bad_notifications(); }
  std::string Describe() const override {
    return fmt::format("family id {}, group {}", c_->family_id(), c_->samples_group());
  }

 private:
  std::unique_ptr<nl::Client> c_;
};

}  // namespace

// Only the subscription: no requests, whose replies libnl's client waits
// for without a timeout.
std::unique_ptr<Telemetry> SubscribeNetlink(std::string* error) {
  auto c = nl::Client::Connect(error);
  if (!c || !c->Subscribe(error)) return nullptr;
  return std::make_unique<NetlinkTelemetry>(std::move(c));
}

Daemon::Daemon(Options opts, Config cfg) : opts_(std::move(opts)), cfg_(std::move(cfg)) {
  listen_ = opts_.metrics_listen.value_or(cfg_.daemon.metrics_listen);
  db_path_ = opts_.database.value_or(cfg_.daemon.database);
}

Daemon::~Daemon() = default;

HistoryParams Daemon::History() const {
  HistoryParams h;
  h.max_pct = cfg_.daemon.history_max_pct;
  h.min_windows = cfg_.daemon.history_min_windows;
  return h;
}

void Daemon::Status(const std::string& s) { sd_notifyf(0, "STATUS=%s", s.c_str()); }

void Daemon::ModuleGone(const std::string& why) {
  spdlog::warn("kvm_quanta {}: telemetry lost, forgetting {} VMs; retrying every second", why,
               state_.vms.size());
  Persist();
  if (sub_) enobufs_base_ += sub_->enobufs();
  sub_.reset();
  bad_logged_ = 0;
  std::lock_guard lock(mu_);
  state_.module_present = false;
  state_.vms.clear();
  state_.last_seq = 0;
  Status("kvm_quanta not loaded; waiting for it");
}

void Daemon::CheckModule() {
  struct stat st {};
  const bool present = stat(opts_.sysfs_root.c_str(), &st) == 0;
  if (!present) {
    if (sub_ || state_.module_present) ModuleGone("unloaded");
    if (!absent_logged_) {
      spdlog::info("kvm_quanta is not loaded ({} absent); retrying every second", opts_.sysfs_root);
      Status("kvm_quanta not loaded; waiting for it");
      absent_logged_ = true;
    }
    return;
  }
  if (sub_ && static_cast<uint64_t>(st.st_ino) != sysfs_ino_) ModuleGone("was reloaded");
  if (sub_) return;
  std::string err;
  // An unload or reload shows in sysfs (the directory goes, or comes back
  // as a new inode) and restarts SEQ.
  auto sub = opts_.subscribe(&err);
  if (sub) {
    sub_ = std::move(sub);
    sysfs_ino_ = static_cast<uint64_t>(st.st_ino);
    absent_logged_ = connect_fail_logged_ = false;
    {
      std::lock_guard lock(mu_);
      state_.module_present = true;
      ++state_.module_loads;
      state_.last_seq = 0;
    }
    spdlog::info("subscribed to kvm_quanta telemetry ({})", sub_->Describe());
    Status("subscribed to kvm_quanta telemetry");
    // The parameters first, so that the mode (enforce) starts with them.
    ApplyHost("module found");
    ApplyMode();
    return;
  }
  if (!connect_fail_logged_) {
    spdlog::warn("kvm_quanta telemetry unavailable: {}; retrying every second", err);
    connect_fail_logged_ = true;
  }
}

void Daemon::ApplyMode() {
  if (!cfg_.daemon.mode) return;
  const Sysfs sys(opts_.sysfs_root);
  const std::string now = sys.Read("mode").value_or("");
  if (now == *cfg_.daemon.mode) return;
  if (int e = sys.Write("mode", *cfg_.daemon.mode))
    spdlog::error("writing {}/mode={} failed: {} (errno {})", opts_.sysfs_root, *cfg_.daemon.mode,
                  strerror(e), e);
  else
    spdlog::info("mode {} -> {}", now.empty() ? "?" : now, *cfg_.daemon.mode);
}

// [host]: the host-wide parameters the configuration sets, through the
// writer quantactl policy uses: only what differs from sysfs, all or
// nothing.  Only the configured parameters are read, so a module without
// one of the others does not stop these; none is ever reset.
void Daemon::ApplyHost(const char* why) {
  if (cfg_.host.empty()) return;
  std::vector<KnobSpec> specs;
  for (const auto& [k, v] : cfg_.host)
    if (const KnobSpec* s = FindKnob(HostParams(), k)) specs.push_back(*s);
  const Sysfs sys(opts_.sysfs_root);
  std::string err;
  auto u = sys.UpdateKnobs(kHostPolicyDir, specs, cfg_.host, &err);
  if (!u) {
    spdlog::error("[host] parameters not applied ({}): {}", why, err);
    return;
  }
  if (!u->result.ok) {
    spdlog::error("[host] parameters not applied ({}): {}", why,
                  DescribeFailure(u->result, u->before));
    return;
  }
  std::string done;
  for (const Write& w : u->plan)
    done +=
        fmt::format("{}{} {}->{}", done.empty() ? "" : ", ", w.key, u->before.at(w.key), w.value);
  if (!done.empty()) spdlog::info("[host] parameters applied ({}): {}", why, done);
}

VmState* Daemon::AddVm(uint32_t pid, uint64_t id) {
  VmState vm;
  vm.id = id;
  vm.pid = pid;
  vm.dir = std::to_string(pid) + "-" + std::to_string(id);
  auto name = VmNameOf(opts_.proc_root, pid);
  vm.named = name.has_value();
  vm.name = name ? *name : UnnamedVmName(pid);
  spdlog::info("vm {} appeared (sysfs {}, pid {})", vm.name, vm.dir, pid);
  VmState* p;
  {
    std::lock_guard lock(mu_);
    p = &(state_.vms[id] = std::move(vm));
  }
  profiles_.try_emplace(p->name);
  ApplyVm(p, "new VM");
  return p;
}

void Daemon::ApplyVm(VmState* vm, const char* why) {
  std::string rule;
  // The base goes to the module as configured: the module owns the one
  // history adjustment (history_pct, bounded by policy/history_max_pct).
  // The profile's score is only published (quantad_vm_history_adjust_pct).
  Policy p = cfg_.PolicyFor(vm->name, &rule);
  const int pct = HistoryAdjustPct(profiles_[vm->name], History());
  const Sysfs sys(opts_.sysfs_root);
  const VmDir dir{vm->dir, vm->pid, vm->id};
  if (!sys.Exists(VmPolicyDir(dir))) {
    if (!vm->knobs_absent_logged)
      spdlog::info("vm {}: no policy knobs in sysfs (module without per-VM policy): not applied",
                   vm->name);
    vm->knobs_absent_logged = true;
    return;
  }
  // The same writer as quantactl set: only what differs, in an order the
  // module accepts, all or nothing.
  std::string err;
  auto u = sys.UpdateKnobs(VmPolicyDir(dir), VmKnobs(), PolicyKnobs(p), &err);
  if (!u) {
    spdlog::error("vm {}: policy not applied: {}", vm->name, err);
    return;
  }
  if (!u->result.ok) {
    spdlog::error("vm {}: policy not applied: {}", vm->name, DescribeFailure(u->result, u->before));
    return;
  }
  std::string done;
  for (const Write& w : u->plan) {
    done +=
        fmt::format("{}{} {}->{}", done.empty() ? "" : ", ", w.key, u->before.at(w.key), w.value);
    // The module knows a group by its number, the operator by its name.
    if (w.key == "group" && w.value) done += fmt::format(" (\"{}\")", cfg_.GroupName(p.group));
  }
  if (!done.empty())
    spdlog::info("vm {}: applied policy ({}; {}, profile score {:+}%): {}", vm->name, why,
                 rule.empty() ? "[defaults]" : "[[vm]] " + rule, pct, done);
  std::lock_guard lock(mu_);
  vm->applied = p;
  vm->history_pct = pct;
}

void Daemon::ScanVms() {
  const std::vector<VmDir> list = Sysfs(opts_.sysfs_root).ListVms();
  std::set<uint64_t> seen;
  for (const VmDir& v : list) {
    seen.insert(v.vm_id);
    bool known;
    {
      std::lock_guard lock(mu_);
      known = state_.vms.count(v.vm_id) != 0;
    }
    if (!known) AddVm(v.pid, v.vm_id);
  }
  std::vector<std::string> gone_unnamed;
  std::lock_guard lock(mu_);
  for (auto it = state_.vms.begin(); it != state_.vms.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("vm {} gone (sysfs {})", it->second.name, it->second.dir);
    const std::string name = it->second.name;
    const bool named = it->second.named;
    it = state_.vms.erase(it);
    if (!named) gone_unnamed.push_back(name);
  }
  // The profile of an unnamed VM is keyed by its pid, which means nothing
  // once the process is gone: forget it with the last VM of that pid.
  for (const std::string& name : gone_unnamed) {
    bool live = false;
    for (const auto& [id, vm] : state_.vms) live |= vm.name == name;
    if (live) continue;
    profiles_.erase(name);
    summary_base_.erase(name);
    std::string err;
    if (store_ && !store_->Delete(name, &err))
      spdlog::error("database {}: forgetting {}: {}", db_path_, name, err);
  }
}

// The achieved quanta of every vCPU thread, measured by the BPF program at
// sched_switch, so the metrics show target against achieved from a source
// that does not depend on the module.  Loaded once, when allowed (root or
// CAP_BPF + CAP_PERFMON, and [daemon] bpf = true); without it quantad works
// as before.
void Daemon::TraceQuanta() {
  if (!cfg_.daemon.bpf) return;
#if !KQ_WITH_BPF
  if (!bpf_tried_)
    spdlog::info(
        "BPF quanta tracer not available (built with -DKQ_WITH_BPF=OFF); achieved quanta "
        "from the module only");
  bpf_tried_ = true;
#else
  if (!bpf_ && !bpf_tried_) {
    bpf_tried_ = true;
    std::string err;
    bpf_ = bpfq::QuantaTracer::Open(&err);
    if (bpf_)
      spdlog::info("BPF quanta tracer attached to sched_switch");
    else
      spdlog::info("BPF quanta tracer not loaded ({}); achieved quanta from the module only", err);
  }
  std::lock_guard lock(mu_);
  state_.bpf_loaded = bpf_ != nullptr;
  if (!bpf_) return;
  std::set<uint32_t> live;
  for (auto& [id, vm] : state_.vms)
    for (auto& [idx, v] : vm.vcpus) {
      if (!v.tid) continue;
      live.insert(v.tid);
      std::string err;
      if (!bpf_->AddTid(v.tid, &err)) continue;
      auto q = bpf_->Read(v.tid);
      if (!q) continue;
      const uint64_t n = q->count - v.bpf_count, t = q->total_ns - v.bpf_total_ns;
      v.bpf_quantum_ns = n ? std::optional<uint64_t>(t / n) : std::nullopt;
      v.bpf_count = q->count;
      v.bpf_total_ns = q->total_ns;
    }
  for (const auto& [tid, q] : bpf_->ReadAll()) {
    std::string err;
    if (!live.count(tid)) bpf_->RemoveTid(tid, &err);
  }
#endif
}

void Daemon::OnMessage(const nl::Message& m) {
  std::lock_guard lock(mu_);
  if (m.drops) state_.kernel_drops = *m.drops;
  if (m.seq) {
    if (*m.seq > state_.last_seq) {
      if (state_.last_seq) state_.windows_missed += *m.seq - state_.last_seq - 1;
      ++state_.windows;
      state_.last_seq = *m.seq;
    } else if (*m.seq < state_.last_seq) {
      ++state_.windows;  // sequence restarted: a reloaded module
      state_.last_seq = *m.seq;
    }
  }
  for (const nl::VcpuSample& s : m.vcpus) {
    auto it = state_.vms.find(s.vm_id);
    if (it == state_.vms.end()) continue;  // picked up by the next sysfs scan
    AddSample(&it->second, s);
    Profile& p = profiles_[it->second.name];
    // The module counts decisions since it first saw the vCPU: the
    // profile takes what is new since the last sample.
    if (s.decisions) {
      VcpuState& v = it->second.vcpus[s.vcpu_idx];
      for (size_t r = 0; r < kReasons; ++r) {
        const uint64_t now = (*s.decisions)[r];
        if (now >= v.decisions_folded[r]) p.decisions[r] += now - v.decisions_folded[r];
        v.decisions_folded[r] = now;
      }
      v.decisions = s.decisions;
    }
    ++p.windows;
    if (s.ipc_milli) {
      p.ipc_sum += *s.ipc_milli / 1000.0;
      ++p.ipc_n;
    }
    if (s.exit_rate_milli) {
      p.exit_rate_sum += static_cast<double>(*s.exit_rate_milli) / 1000.0;
      ++p.exit_rate_n;
    }
    if (s.quantum_ns) {
      p.quantum_ns_sum += static_cast<double>(*s.quantum_ns);
      ++p.quantum_n;
    }
    p.updated_unix = static_cast<int64_t>(time(nullptr));
  }
}

// Profiles queued by `quantactl profile import` replace the daemon's own,
// and the VMs of that name get their policy again (the history may move).
void Daemon::TakeImports() {
  if (!store_) return;
  std::string err;
  std::map<std::string, Profile> in;
  if (!store_->TakeImports(&in, &err)) {
    spdlog::error("database {}: taking imported profiles: {}", db_path_, err);
    return;
  }
  for (auto& [name, p] : in) {
    spdlog::info("profile of {} imported ({} windows)", name, p.windows);
    profiles_[name] = p;
    if (state_.module_present)
      for (auto& [id, vm] : state_.vms)
        if (vm.name == name) ApplyVm(&vm, "imported profile");
  }
}

// A module that sends what quantad cannot parse would otherwise fill the
// journal: the first one is logged at once, later ones at most once a
// minute, as a count.
void Daemon::LogBadNotifications(const nl::BadNotifications& bad) {
  if (bad.count <= bad_logged_) return;
  const auto now = opts_.now();
  if (bad_logged_ && now - last_bad_log_ < std::chrono::minutes(1)) return;
  spdlog::warn("telemetry: {} notification(s) could not be parsed and were skipped (last: {})",
               bad.count - bad_logged_, bad.last);
  bad_logged_ = bad.count;
  last_bad_log_ = now;
}

void Daemon::Persist() {
  if (!store_) return;
  TakeImports();
  std::string err;
  if (!store_->SaveAll(profiles_, &err)) spdlog::error("saving profiles to {}: {}", db_path_, err);
}

void Daemon::Summary() {
  std::lock_guard lock(mu_);
  size_t vcpus = 0;
  for (const auto& [id, vm] : state_.vms) vcpus += vm.vcpus.size();
  spdlog::info("summary: module {}, {} VMs, {} vCPUs, {} windows ({} missed), drops {}",
               state_.module_present ? "present" : "absent", state_.vms.size(), vcpus,
               state_.windows, state_.windows_missed, state_.kernel_drops);
  for (const auto& [id, vm] : state_.vms) {
    const Profile& p = profiles_[vm.name];
    auto& base = summary_base_[vm.name];
    std::string dec;
    for (size_t r = 0; r < kReasons; ++r) {
      const uint64_t d = p.decisions[r] - std::min(p.decisions[r], base[r]);
      if (d) dec += fmt::format(" {}={}", ReasonNames()[r], d);
    }
    base = p.decisions;
    spdlog::info(
        "  vm {} ({}): {} vCPUs, decisions since last summary:{}; long-term: {} "
        "windows, {:.2f} exits/ms, mean quantum {:.2f} ms, history {:+}%",
        vm.name, vm.dir, vm.vcpus.size(), dec.empty() ? " none" : dec, p.windows,
        p.mean_exit_rate().value_or(0), p.mean_quantum_ns().value_or(0) / 1e6, vm.history_pct);
  }
}

void Daemon::Reload() {
  std::string err;
  auto c = LoadConfig(opts_.config_path, &err);
  if (!c) {
    spdlog::error("reload: {}; keeping the running configuration", err);
    Status("reload failed: " + err);
    return;
  }
  if (opts_.metrics_listen.value_or(c->daemon.metrics_listen) != listen_)
    spdlog::warn("reload: metrics_listen changes only at restart");
  if (opts_.database.value_or(c->daemon.database) != db_path_)
    spdlog::warn("reload: database changes only at restart");
  // A truncated file can still parse: say loudly what it dropped.
  for (const VmRule& old : cfg_.vms) {
    bool kept = false;
    for (const VmRule& r : c->vms) kept |= r.name == old.name;
    if (!kept) spdlog::warn("reload: [[vm]] \"{}\" is gone from {}", old.name, opts_.config_path);
  }
  // A parameter no longer in [host] keeps the value it has: say so.
  for (const auto& [k, v] : cfg_.host)
    if (!c->host.count(k))
      spdlog::warn("reload: [host] {} is gone from {}; left at its current value", k,
                   opts_.config_path);
  cfg_ = std::move(*c);
  spdlog::info("reloaded {} ({} [[vm]] entries, {} [host] parameters)", opts_.config_path,
               cfg_.vms.size(), cfg_.host.size());
  if (state_.module_present) {
    ApplyHost("reload");
    ApplyMode();
    for (auto& [id, vm] : state_.vms) ApplyVm(&vm, "reload");
  }
  Status("configuration reloaded");
}

void Daemon::Tick() {
  CheckModule();
  if (state_.module_present) {
    ScanVms();
    TraceQuanta();
  }
  const auto now = opts_.now();
  if (now - last_persist_ >= std::chrono::seconds(cfg_.daemon.persist_interval_s)) {
    last_persist_ = now;
    Persist();
  }
  if (now - last_summary_ >= std::chrono::seconds(cfg_.daemon.summary_interval_s)) {
    last_summary_ = now;
    Summary();
  }
  if (!ready_) {
    ready_ = true;
    sd_notify(0, "READY=1");
  }
  if (watchdog_) sd_notify(0, "WATCHDOG=1");
}

void Daemon::Open() {
  std::string err, note;
  // Without its database quantad still applies policies and serves
  // metrics; it only cannot keep profiles across restarts.  Better than a
  // restart loop under Restart=on-failure.
  store_ = ProfileStore::Open(db_path_, &err, &note);
  if (!note.empty()) spdlog::error("database: {}", note);
  if (!store_) {
    spdlog::error("database: {}; profiles are kept in memory only until restart", err);
    Status("database unusable: " + err);
  } else if (!store_->DeleteUnnamed(&err) || !store_->LoadAll(&profiles_, &err)) {
    spdlog::error("database {}: {}; profiles are kept in memory only until restart", db_path_, err);
    store_.reset();
  } else {
    spdlog::info("loaded {} VM profiles from {}", profiles_.size(), db_path_);
    TakeImports();
  }
  last_persist_ = last_summary_ = next_tick_ = opts_.now();
}

void Daemon::Step(int timeout_ms) {
  if (opts_.now() >= next_tick_) {
    Tick();
    next_tick_ = opts_.now() + std::chrono::seconds(1);
  }
  if (!sub_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    return;
  }
  std::string err;
  if (sub_->Receive(
          timeout_ms, [this](const nl::Message& m) { OnMessage(m); }, &err) < 0) {
    spdlog::warn("telemetry: {}", err);
    ModuleGone("telemetry failed");
    return;
  }
  LogBadNotifications(sub_->bad_notifications());
  std::lock_guard lock(mu_);
  state_.enobufs = enobufs_base_ + sub_->enobufs();
}

void Daemon::Close() {
  Persist();
  if (store_) spdlog::info("saved {} VM profiles to {}", profiles_.size(), db_path_);
}

std::string Daemon::Metrics() {
  std::lock_guard lock(mu_);
  return FormatMetrics(state_);
}

int Daemon::Run() {
  uint64_t watchdog_usec = 0;
  watchdog_ = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  Open();

  std::string err;
  auto addr = ParseListen(listen_, &err);
  if (!addr) {
    spdlog::error("metrics listen address {}: {}", listen_, err);
    return 1;
  }
  MetricsServer http([this] { return Metrics(); });
  if (!http.Start(addr->host, addr->port, &err)) {
    spdlog::error("metrics: cannot listen on {}: {}", listen_, err);
    return 1;
  }
  spdlog::info("metrics on http://{}/metrics", listen_);

  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&sigs, s);
  const timespec zero{0, 0};
  while (true) {
    const int sig = sigtimedwait(&sigs, nullptr, &zero);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("{}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      Reload();
      sd_notify(0, "READY=1");
    }
    Step(200);
  }
  sd_notify(0, "STOPPING=1");
  http.Stop();
  Close();
  return 0;
}

}  // namespace kq::quantad
