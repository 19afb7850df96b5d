// SPDX-License-Identifier: GPL-2.0
// The closed-loop model: see sim.hpp.  Time advances in 50 us steps; the
// scheduler's decisions happen at wakeups, sleeps, yields and the 4 ms
// tick (HZ=250), as in the kernels the rig runs.
#include "sim.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "group.h"
#include "policy.h"
#include "smt.h"
#include "thresholds.h"

namespace kq::sim {
namespace {

constexpr uint64_t kStep = 50000;
constexpr uint64_t kTick = 4000000;
constexpr double kNice0 = 1024;

constexpr std::array<double, 40> kNiceWeight = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906,  3121,  2501,  1991,  1586,  1277,  1024,  820,   655,   526,   423,  335,  272,  215,
    172,   137,   110,   87,    70,    56,    45,    36,    29,    23,    18,   15,
};

struct Thread {
  VcpuSpec spec;
  bool runnable = false;
  int cpu = 0;
  double vr = 0;        // vruntime, ns of nice-0 time
  double lag = 0;       // EEVDF: lag kept over sleep
  double deadline = 0;  // EEVDF
  double load = kNice0;
  uint64_t slice = 0;  // EEVDF request, ns
  uint64_t ran = 0;    // since it was last picked
  bool skip = false;   // CFS yield: skip buddy
  bool seen = false;
  uint64_t exit_acc = 0;
  // This window.
  uint64_t w_run = 0, w_guest = 0, w_wait = 0, w_slices = 0, w_exits = 0, w_yields = 0;
  std::map<int, uint64_t> w_run_cpu, w_wait_cpu;
  // Policy.
  kq_vcpu_policy st{};
  kq_history h{};
  uint32_t weight_milli = 0;
  bool hungry = false;       // its last window was cache-hungry (the module's flag)
  bool hungry_seen = false;  // the same at the default smt_hungry_pct: measured
};

struct Cpu {
  int curr = -1;
  std::vector<int> queue;  // runnable threads here, curr included
  double min_vr = 0;       // CFS
};

class Model {
 public:
  explicit Model(const Config& c) : c_(c), cpus_(c.cpus) {
    factor_ = 1 + static_cast<int>(std::floor(std::log2(std::min(c.cpus, 8))));
    latency_ = 6e6 * factor_;
    min_gran_ = 0.75e6 * factor_;
    wakeup_gran_ = 1e6 * factor_;
    base_slice_ = static_cast<uint64_t>(0.75e6 * factor_);
    kq_policy_defaults(&params_);
    defaults_ = params_;
    params_.host_thresholds = c.host_thresholds;
    if (c.group_shift_pct) params_.group_shift_pct = *c.group_shift_pct;
    if (c.smt_hungry_pct) params_.smt_hungry_pct = *c.smt_hungry_pct;
    kq_dist_init(&dist_);
    for (const auto& v : c.vcpus) {
      Thread t;
      t.spec = v;
      t.slice = base_slice_;
      kq_vm_policy vp = VmPolicy(v.vm);
      kq_vcpu_policy_init(&t.st, &vp);
      kq_history_init(&t.h);
      th_.push_back(t);
    }
    // Before the first window: the VM's weight split among all its vCPUs.
    for (auto& t : th_) {
      uint64_t n = 0;
      for (const auto& o : th_) n += o.spec.vm == t.spec.vm;
      t.weight_milli =
          kq_ledger_weight(c.vms[t.spec.vm].weight, c.window_ns, n * c.window_ns, c.window_ns);
      if (c.policy) t.load = kNiceWeight[kq_policy_nice(t.weight_milli, 0) + 20];
    }
    res_.vcpus.resize(th_.size());
  }

  Result Run() {
    const uint64_t per_window = c_.window_ns / kStep;
    uint64_t now = 0;
    for (int w = 0; w < c_.windows; w++) {
      for (uint64_t s = 0; s < per_window; s++, now += kStep) Step(now);
      EndWindow();
    }
    for (size_t i = 0; i < th_.size(); i++) res_.run_ns += res_.vcpus[i].run_ns;
    return res_;
  }

 private:
  kq_vm_policy VmPolicy(int vm) const {
    kq_vm_policy vp;
    kq_vm_policy_defaults(&vp);
    vp.weight = c_.vms[vm].weight;
    vp.group = c_.vms[vm].group;
    return vp;
  }

  bool Wants(const Thread& t, uint64_t now) const {
    if (t.spec.off_ms <= 0) return true;
    const double period = t.spec.on_ms + t.spec.off_ms;
    const double x = std::fmod(double(now) / 1e6 + t.spec.phase_ms, period);
    return x < t.spec.on_ms;
  }

  // The scheduler's weight for a thread now.
  void UpdateLoads() {
    if (c_.policy) return;  // set per window by the enforcement
    std::map<int, int> k;
    for (const auto& t : th_)
      if (t.runnable) k[t.spec.vm]++;
    for (auto& t : th_) {
      const int n = std::max(1, k[t.spec.vm]);
      t.load = c_.vms[t.spec.vm].weight * kNice0 / 100.0 / n;
    }
  }

  double AvgVr(const Cpu& cpu) const {
    double sw = 0, s = 0;
    for (int i : cpu.queue) {
      sw += th_[i].load;
      s += th_[i].load * th_[i].vr;
    }
    return sw > 0 ? s / sw : 0;
  }

  double QueueLoad(const Cpu& cpu) const {
    double s = 0;
    for (int i : cpu.queue) s += th_[i].load;
    return s;
  }

  int PickEevdf(const Cpu& cpu) const {
    const double v = AvgVr(cpu);
    int best = -1, least = -1;
    for (int i : cpu.queue) {
      const Thread& t = th_[i];
      if (least < 0 || t.vr < th_[least].vr) least = i;
      if (t.vr > v + 1e-6) continue;
      if (best < 0 || t.deadline < th_[best].deadline) best = i;
    }
    return best >= 0 ? best : least;
  }

  int PickCfs(const Cpu& cpu) const {
    int best = -1, other = -1;
    for (int i : cpu.queue) {
      if (best < 0 || th_[i].vr < th_[best].vr) best = i;
      if (!th_[i].skip && (other < 0 || th_[i].vr < th_[other].vr)) other = i;
    }
    return other >= 0 ? other : best;
  }

  void Pick(int c) {
    Cpu& cpu = cpus_[c];
    if (cpu.queue.empty()) {
      cpu.curr = -1;
      return;
    }
    const int prev = cpu.curr;
    const int next = c_.sched == Sched::kCfs ? PickCfs(cpu) : PickEevdf(cpu);
    for (int i : cpu.queue) th_[i].skip = false;
    if (c_.sched == Sched::kCfs) {
      double m = th_[cpu.queue[0]].vr;
      for (int i : cpu.queue) m = std::min(m, th_[i].vr);
      cpu.min_vr = std::max(cpu.min_vr, m);
    }
    if (next != prev) {
      th_[next].w_slices++;
      th_[next].ran = 0;
    }
    cpu.curr = next;
  }

  void NewDeadline(Thread& t) { t.deadline = t.vr + double(t.slice) * kNice0 / t.load; }

  int ChooseCpu(const Thread& t) const {
    if (t.spec.cpu >= 0) return t.spec.cpu;
    // As select_task_rq does in effect: an idle CPU, else the least busy
    // by number of runnable threads (not by weight: the enforcement's nice
    // would otherwise move placement).
    int best = 0;
    for (int c = 1; c < c_.cpus; c++)
      if (cpus_[c].queue.size() < cpus_[best].queue.size()) best = c;
    return best;
  }

  void Enqueue(int i, int c) {
    Thread& t = th_[i];
    Cpu& cpu = cpus_[c];
    if (c_.sched == Sched::kCfs) {
      // A sleeper keeps its vruntime (relative to min_vruntime only when it
      // moves to another CPU) and gets at most half a latency of credit.
      double base = cpu.min_vr;
      if (t.seen) base = c == t.cpu ? t.vr : t.vr - cpus_[t.cpu].min_vr + cpu.min_vr;
      t.vr = std::max(base, cpu.min_vr - latency_ / 2);
    } else {
      const double v = cpu.queue.empty() ? t.vr : AvgVr(cpu);
      // 6.12 place_entity(): the lag is inflated by (W + w) / W so that
      // adding the entity back does not shrink it.
      const double w = QueueLoad(cpu);
      const double lag = t.seen && w > 0 ? t.lag * (w + t.load) / w : 0;
      t.vr = v - lag;
      NewDeadline(t);
    }
    t.seen = true;
    t.cpu = c;
    cpu.queue.push_back(i);
  }

  void Dequeue(int i) {
    Thread& t = th_[i];
    Cpu& cpu = cpus_[t.cpu];
    if (c_.sched == Sched::kEevdf) {
      const double limit = double(std::max<uint64_t>(2 * t.slice, kTick)) * kNice0 / t.load;
      t.lag = std::clamp(AvgVr(cpu) - t.vr, -limit, limit);
    }
    cpu.queue.erase(std::find(cpu.queue.begin(), cpu.queue.end(), i));
    if (cpu.curr == i) {
      cpu.curr = -1;
      Pick(t.cpu);
    }
  }

  void Wake(int i) {
    const int c = ChooseCpu(th_[i]);
    Enqueue(i, c);
    Cpu& cpu = cpus_[c];
    if (cpu.curr < 0) {
      Pick(c);
      return;
    }
    Thread& cur = th_[cpu.curr];
    Thread& t = th_[i];
    if (c_.sched == Sched::kCfs) {
      if (t.vr + wakeup_gran_ * kNice0 / t.load < cur.vr && cur.ran >= min_gran_) Pick(c);
    } else {
      // Run to parity: the current one keeps its slice once picked.
      if (cur.ran >= cur.slice && PickEevdf(cpu) == i) Pick(c);
    }
  }

  void Yield(int c) {
    Cpu& cpu = cpus_[c];
    Thread& t = th_[cpu.curr];
    t.w_yields++;
    if (c_.sched == Sched::kCfs)
      t.skip = true;
    else
      t.deadline += double(t.slice) * kNice0 / t.load;
    Pick(c);
  }

  void Tick() {
    for (int c = 0; c < c_.cpus; c++) {
      Cpu& cpu = cpus_[c];
      // An idle CPU pulls an unpinned thread that waits elsewhere.
      if (cpu.queue.empty()) {
        for (int o = 0; o < c_.cpus; o++) {
          if (o == c || cpus_[o].queue.size() < 2) continue;
          int victim = -1;
          for (int i : cpus_[o].queue)
            if (i != cpus_[o].curr && th_[i].spec.cpu < 0) victim = i;
          if (victim < 0) continue;
          Dequeue(victim);
          th_[victim].lag = 0;
          Enqueue(victim, c);
          Pick(c);
          break;
        }
        continue;
      }
      if (cpu.curr < 0 || cpu.queue.size() < 2) continue;
      Thread& t = th_[cpu.curr];
      if (c_.sched == Sched::kCfs) {
        const double ideal = std::max(Period(cpu) * t.load / QueueLoad(cpu), min_gran_);
        double left = -1;
        for (int i : cpu.queue)
          if (i != cpu.curr && (left < 0 || th_[i].vr < left)) left = th_[i].vr;
        if (double(t.ran) > ideal || (double(t.ran) >= min_gran_ && t.vr - left > ideal)) Pick(c);
      } else if (t.vr >= t.deadline) {
        NewDeadline(t);
        Pick(c);
      }
    }
  }

  double Period(const Cpu& cpu) const {
    const double n = double(cpu.queue.size());
    return n > latency_ / min_gran_ ? n * min_gran_ : latency_;
  }

  void Step(uint64_t now) {
    for (size_t i = 0; i < th_.size(); i++) {
      const bool want = Wants(th_[i], now);
      if (want && !th_[i].runnable) {
        th_[i].runnable = true;
        UpdateLoads();
        Wake(static_cast<int>(i));
      } else if (!want && th_[i].runnable) {
        th_[i].runnable = false;
        Dequeue(static_cast<int>(i));
        UpdateLoads();
      }
    }
    for (int c = 0; c < c_.cpus; c++) {
      Cpu& cpu = cpus_[c];
      if (cpu.curr < 0) continue;
      for (int i : cpu.queue)
        if (i != cpu.curr) {
          th_[i].w_wait += kStep;
          th_[i].w_wait_cpu[c] += kStep;
        }
      Thread& t = th_[cpu.curr];
      t.w_run += kStep;
      t.w_run_cpu[c] += kStep;
      t.ran += kStep;
      t.vr += double(kStep) * kNice0 / t.load;
      if (c_.sched == Sched::kCfs) {
        double m = t.vr;
        for (int i : cpu.queue) m = std::min(m, th_[i].vr);
        cpu.min_vr = std::max(cpu.min_vr, m);
      }
      t.exit_acc += kStep;
      const uint64_t gap = t.spec.heavy ? 50000 : 2000000;
      bool cut = false;
      uint64_t host = 0;  // of this step, handling exits
      while (t.exit_acc >= gap) {
        t.exit_acc -= gap;
        t.w_exits++;
        host += c_.exit_cost_ns;
        if (c_.policy && kq_policy_cut_now(&t.st, t.ran, SiblingHungry(c))) cut = true;
      }
      t.w_guest += kStep - std::min(host, kStep);
      if (cut && cpu.queue.size() > 1) Yield(c);
    }
    if (c_.smt)
      for (int c = 0; c + 1 < c_.cpus; c += 2)
        if (RunsHungry(c, true) && RunsHungry(c + 1, true)) res_.hungry_pair_ns += kStep;
    if ((now + kStep) % kTick == 0) Tick();
  }

  // CPU c's SMT sibling, KQ_NO_SIBLING without SMT.
  s32 Sibling(int c) const {
    if (!c_.smt) return KQ_NO_SIBLING;
    const int s = c ^ 1;
    return s < c_.cpus ? s : KQ_NO_SIBLING;
  }

  bool RunsHungry(int c, bool seen = false) const {
    if (cpus_[c].curr < 0) return false;
    const Thread& t = th_[cpus_[c].curr];
    return seen ? t.hungry_seen : t.hungry;
  }

  // At an exit on CPU c: is a cache-hungry vCPU running on its sibling?
  u32 SiblingHungry(int c) const {
    const s32 s = Sibling(c);
    return s >= 0 && RunsHungry(s) ? KQ_AT_SIBLING_HUNGRY : 0;
  }

  // As the module does before the decisions (src/window.c): each vCPU on
  // the CPU it ran on most, its window's LLC MPKI, by the thresholds in use.
  void Smt(const kq_policy_params& used, const std::vector<kq_window>& win) {
    std::vector<kq_smt_vcpu> v(th_.size());
    std::vector<s32> sibling(static_cast<size_t>(c_.cpus));
    std::vector<u64> ns(sibling.size());
    std::vector<u32> mx(sibling.size());
    for (int c = 0; c < c_.cpus; c++) sibling[static_cast<size_t>(c)] = Sibling(c);
    for (size_t i = 0; i < th_.size(); i++) {
      const Thread& t = th_[i];
      int cpu = t.cpu;
      uint64_t most = 0;
      for (const auto& [c, run] : t.w_run_cpu)
        if (run > most) {
          most = run;
          cpu = c;
        }
      v[i] = kq_smt_vcpu{cpu, win[i].run_ns, win[i].llc_mpki_milli, KQ_SMT_NONE};
    }
    kq_smt_window(&used, v.data(), static_cast<unsigned>(v.size()), sibling.data(),
                  static_cast<unsigned>(sibling.size()), c_.window_ns, ns.data(), mx.data());
    for (size_t i = 0; i < th_.size(); i++) th_[i].st.smt = v[i].press;
  }

  void EndWindow() {
    std::vector<kq_window> win(th_.size());
    std::map<int, uint64_t> vm_runnable;
    for (size_t i = 0; i < th_.size(); i++) {
      Thread& t = th_[i];
      kq_window& w = win[i];
      kq_window_init(&w);
      w.window_ns = c_.window_ns;
      w.guest_ns = t.w_guest;
      w.run_ns = t.w_run;
      w.wait_ns = t.w_wait;
      w.slices = t.w_slices;
      w.exits = t.w_exits;
      Pmu(t.spec, &w);
      kq_window_derive(&w);
      vm_runnable[t.spec.vm] += t.w_run + t.w_wait;
      VcpuResult& r = res_.vcpus[i];
      r.run_ns += t.w_run;
      r.guest_ns += t.w_guest;
      r.exits += t.w_exits;
      r.wait_ns += t.w_wait;
      r.slices += t.w_slices;
      r.yields += t.w_yields;
    }
    // Thresholds from the windows before this one, then this one joins.
    kq_policy_params used;
    kq_thresholds_apply(&dist_, &params_, &used);
    for (const kq_window& w : win)
      if (kq_policy_uses_pmu(&params_, &w)) kq_dist_add(&dist_, &w);
    // Which vCPUs were cache-hungry, by the same rule with or without the
    // policy: what hungry_pair_ns counts.
    kq_policy_params seen = used;
    seen.smt_hungry_pct = defaults_.smt_hungry_pct;
    for (size_t i = 0; i < th_.size(); i++) {
      th_[i].hungry = kq_smt_hungry(&used, win[i].llc_mpki_milli);
      th_[i].hungry_seen = kq_smt_hungry(&seen, win[i].llc_mpki_milli);
    }
    if (c_.policy || c_.observe) Enforce(win, vm_runnable, used);
    for (auto& t : th_) {
      t.w_run = t.w_guest = t.w_wait = t.w_slices = t.w_exits = t.w_yields = 0;
      t.w_run_cpu.clear();
      t.w_wait_cpu.clear();
    }
  }

  // The window's guest-only counts at 3 GHz, for a vCPU with a PMU profile.
  void Pmu(const VcpuSpec& s, kq_window* w) {
    if (!s.llc_hi) return;
    const uint64_t u = rng_() % 1001;  // 0: the cache-friendliest
    const uint64_t ipc = s.ipc_hi - (s.ipc_hi - s.ipc_lo) * u / 1000;
    const uint64_t llc = s.llc_lo + (s.llc_hi - s.llc_lo) * u / 1000;
    const uint64_t cycles = w->guest_ns * 3, insns = cycles * ipc / 1000;
    w->pmu[KVM_QUANTA_EV_CYCLES] = cycles;
    w->pmu[KVM_QUANTA_EV_INSTRUCTIONS] = insns;
    w->pmu[KVM_QUANTA_EV_LLC_MISSES] = insns * llc / 1000000;
  }

  // The CPUs a thread ran on in the window, as the split the ledger gets
  // (at most KQ_RAN_SLOTS).
  unsigned SplitCpus(const Thread& t, s32 cpus[KQ_RAN_SLOTS], u64 ns[KQ_RAN_SLOTS]) const {
    unsigned n = 0;
    for (const auto& [cpu, run] : t.w_run_cpu) {
      if (n == KQ_RAN_SLOTS || !run) continue;
      cpus[n] = cpu;
      ns[n++] = run;
    }
    return n;
  }

  // The one CPU a thread ran on in the window (the one it is on when it
  // did not run), -1 when it ran on several: src/window.c's.
  int GroupCpu(const Thread& t) const {
    s32 cpus[KQ_RAN_SLOTS];
    u64 ns[KQ_RAN_SLOTS];
    const unsigned n = SplitCpus(t, cpus, ns);
    return n > 1 ? -1 : n ? cpus[0] : t.cpu;
  }

  // As the module does after the weights (src/window.c): the vCPUs of
  // grouped, enabled VMs go through kq_group_window together, each with its
  // lasting shift if it was learnt in this group (else 0); their weights
  // and shifts are what it says.  The others' shifts are 0.
  void Groups(const std::vector<kq_window>& win) {
    std::vector<kq_group_member> m;
    std::vector<size_t> who;
    for (size_t i = 0; i < th_.size(); i++) {
      Thread& t = th_[i];
      const kq_vm_policy vp = VmPolicy(t.spec.vm);
      const u32 group = vp.enabled ? vp.group : 0;
      const s32 lasting = t.st.group == group ? t.st.group_pct : 0;
      if (!group) {
        t.st.group = 0;
        t.st.group_pct = 0;
        t.st.group_shift_pct = 0;
        continue;
      }
      m.emplace_back();
      kq_group_member_init(&m.back(), group, static_cast<u64>(t.spec.vm), GroupCpu(t), &win[i],
                           t.weight_milli, lasting);
      who.push_back(i);
    }
    if (m.empty()) return;
    kq_group_window(&params_, m.data(), static_cast<unsigned>(m.size()));
    for (size_t k = 0; k < m.size(); k++) {
      Thread& t = th_[who[k]];
      t.weight_milli = m[k].weight;
      t.st.group = m[k].group;
      t.st.group_pct = m[k].lasting_pct;
      t.st.group_shift_pct = m[k].shift_pct;
    }
  }

  // What the module does at the end of a window.
  void Enforce(const std::vector<kq_window>& win, std::map<int, uint64_t>& vm_runnable,
               const kq_policy_params& used) {
    std::vector<kq_ledger_entry> e;
    std::vector<size_t> owner;
    for (Thread& t : th_)
      t.weight_milli = kq_ledger_weight(c_.vms[t.spec.vm].weight, t.w_run + t.w_wait,
                                        vm_runnable[t.spec.vm], c_.window_ns);
    Groups(win);
    for (size_t i = 0; i < th_.size(); i++) {
      Thread& t = th_[i];
      if (!c_.exact_cpu_wait) {
        // What the module does: run by CPU (its exit path's split), the
        // wait in the same proportion (the kernel knows run_delay only in
        // total).
        s32 cpus[KQ_RAN_SLOTS];
        u64 ns[KQ_RAN_SLOTS];
        const unsigned n = SplitCpus(t, cpus, ns);
        kq_ledger_entry x[KQ_RAN_SLOTS];
        const unsigned m = kq_ledger_split(x, t.cpu, t.w_run, t.w_wait, 0, t.weight_milli,
                                           t.st.debt_ns, true, cpus, ns, n);
        for (unsigned k = 0; k < m; k++) {
          e.push_back(x[k]);
          owner.push_back(i);
        }
        continue;
      }
      // Exact per-CPU wait, which the kernel does not keep: how much the
      // split by run costs.
      if (t.w_run_cpu.empty()) t.w_run_cpu[t.cpu] = 0;
      for (const auto& [cpu, wait] : t.w_wait_cpu) t.w_run_cpu.try_emplace(cpu, 0);
      size_t k = 0;
      for (const auto& [cpu, run] : t.w_run_cpu) {
        kq_ledger_entry x{};
        x.cpu = cpu;
        x.run_ns = run;
        x.wait_ns = t.w_wait_cpu[cpu];
        x.weight = t.weight_milli;
        x.debt_ns = ++k == 1 ? t.st.debt_ns : 0;
        e.push_back(x);
        owner.push_back(i);
      }
    }
    kq_ledger_window(e.data(), static_cast<unsigned>(e.size()));
    for (auto& t : th_) t.st.debt_ns = 0;
    for (size_t k = 0; k < e.size(); k++) th_[owner[k]].st.debt_ns += e[k].debt_ns;
    Smt(used, win);
    for (size_t i = 0; i < th_.size(); i++) {
      Thread& t = th_[i];
      const kq_vm_policy vp = VmPolicy(t.spec.vm);
      kq_policy_window(&used, &vp, &t.st, &win[i], &t.h);
      kq_history_add(&t.h, &win[i]);
      if (c_.policy) {
        // The correction only where the enforcement moves shares: with a
        // per-task slice (EEVDF).  CFS's yields keep vruntime (a skip
        // buddy), and its sleeper credit is not in the ledger's reference.
        const bool eevdf = c_.sched == Sched::kEevdf;
        const bool correct = eevdf || c_.cfs_correction;
        t.load =
            kNiceWeight[kq_policy_nice(t.weight_milli, correct ? t.st.payback + t.st.boost : 0) +
                        20];
        if (eevdf) t.slice = t.st.target_ns;
      }
      VcpuResult& r = res_.vcpus[i];
      r.warm_windows += t.st.reason == KVM_QUANTA_R_WARM;
      r.payback_windows += t.st.reason == KVM_QUANTA_R_PAYBACK;
      r.smt_windows += t.st.reason == KVM_QUANTA_R_SMT;
      r.debt_ns = t.st.debt_ns;
      r.group_shift_pct_sum += t.st.group_shift_pct;
      r.group_pct = t.st.group_pct;
      r.max_abs_debt_ns =
          std::max<int64_t>(r.max_abs_debt_ns, t.st.debt_ns < 0 ? -t.st.debt_ns : t.st.debt_ns);
    }
  }

  const Config& c_;
  std::vector<Cpu> cpus_;
  std::vector<Thread> th_;
  Result res_;
  kq_policy_params params_{}, defaults_{};
  kq_host_dist dist_{};
  std::mt19937_64 rng_{1};
  int factor_;
  double latency_, min_gran_, wakeup_gran_;
  uint64_t base_slice_;
};

}  // namespace

std::vector<double> Result::VmShares(const Config& c) const {
  std::vector<double> s(c.vms.size(), 0);
  for (size_t i = 0; i < vcpus.size(); i++)
    s[c.vcpus[i].vm] += run_ns ? 100.0 * double(vcpus[i].run_ns) / double(run_ns) : 0;
  return s;
}

std::vector<double> Result::VcpuShares() const {
  std::vector<double> s;
  for (const auto& v : vcpus) s.push_back(run_ns ? 100.0 * double(v.run_ns) / double(run_ns) : 0);
  return s;
}

Result Run(const Config& c) { return Model(c).Run(); }

std::string Describe(const Config& c) {
  std::string s = c.sched == Sched::kCfs ? "CFS" : "EEVDF";
  s += ", " + std::to_string(c.cpus) + " CPU(s):";
  char b[160];
  for (const auto& v : c.vcpus) {
    const std::string group = c.vms[v.vm].group ? " g" + std::to_string(c.vms[v.vm].group) : "";
    std::snprintf(b, sizeof(b), " [vm%d w%u%s cpu%s %s %.0f/%.0f ms]", v.vm, c.vms[v.vm].weight,
                  group.c_str(), v.cpu < 0 ? "*" : std::to_string(v.cpu).c_str(),
                  v.heavy ? "heavy" : "warm", v.on_ms, v.off_ms);
    s += b;
  }
  return s;
}

}  // namespace kq::sim
