// SPDX-License-Identifier: GPL-2.0
// A closed-loop model of the scheduler and kvm_quanta, for the policy and
// the fairness ledger of src/core (linked as they are in the module).
//
// CPUs are shared among vCPU threads by a model of CFS (6.1: vruntime,
// latency-scaled slices checked at the tick, wakeup preemption, gentle
// sleeper credit) or EEVDF (6.12+: eligibility by the weighted average
// vruntime, earliest virtual deadline, per-task slices, run to parity,
// lag kept over sleep).  Each vCPU is runnable on a wall-clock duty cycle
// (exogenous: the same runnable periods with and without the policy), has
// a VM weight (libvirt cpu shares: the VM's, split among its runnable
// vCPUs), and is pinned or not.  Without the policy the threads run with
// the VM weights as the scheduler's group weights would give them.  With
// it, each window goes through what the module does: window -> weights
// (kq_ledger_weight, then shifted within a declared group by
// kq_group_window) -> ledger (kq_ledger_window) -> thresholds
// (kq_thresholds_apply) -> decision (kq_policy_window) -> enforcement
// (nice from kq_policy_nice of the shifted weight, EEVDF slice = target, a
// yield at an exit when kq_policy_cut_now says so).
//
// Work: a vCPU's guest time.  With exit_cost_ns, each VM exit costs that
// much of its thread's run time in the host, which is not guest time: a
// vCPU that exits more does less guest work with the same CPU time.
#ifndef KQ_SIM_SIM_HPP
#define KQ_SIM_SIM_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kq::sim {

enum class Sched { kCfs, kEevdf };

struct VmSpec {
  uint32_t weight = 100;
  // The VM knob group: 0 none, else the group of interchangeable VMs it is
  // in (phase placement, kq_group_window).
  uint32_t group = 0;
};

struct VcpuSpec {
  int vm = 0;
  int cpu = 0;  // -1: unpinned
  // Runnable on_ms, then asleep off_ms (off_ms 0: always runnable), from
  // phase_ms into the cycle at time 0.
  double on_ms = 1;
  double off_ms = 0;
  double phase_ms = 0;
  // Exit-heavy (20 exits per guest ms) rather than warm (0.5 per ms).
  bool heavy = false;
  // With a PMU (llc_hi > 0): each window's IPC and LLC MPKI (x 1000), drawn
  // between these, the fewer misses the higher the IPC.  Otherwise none.
  uint32_t ipc_lo = 0, ipc_hi = 0, llc_lo = 0, llc_hi = 0;
};

struct Config {
  Sched sched = Sched::kEevdf;
  int cpus = 1;
  std::vector<VmSpec> vms;
  std::vector<VcpuSpec> vcpus;
  bool policy = false;   // enforce; otherwise the stock scheduler
  bool observe = false;  // without policy: still run the ledger (debt only)
  // Ledger entries of an unpinned vCPU get its wait on each CPU exactly;
  // otherwise (what the kernel's run_delay gives) split by run.
  bool exact_cpu_wait = false;
  // Apply the ledger's correction on CFS too (it always is on EEVDF).
  bool cfs_correction = false;
  // The policy knob host_thresholds: PMU thresholds from the host's own
  // windows (kq_thresholds_apply) rather than the constants.
  bool host_thresholds = true;
  // The host knob group_shift_pct; unset: the module's default.
  std::optional<uint32_t> group_shift_pct;
  // CPUs 2k and 2k+1 are SMT siblings of one core (kq_smt_window, and the
  // thrasher's check at its exits); otherwise no CPU has a sibling.
  bool smt = false;
  // The host knob smt_hungry_pct; unset: the module's default.
  std::optional<uint32_t> smt_hungry_pct;
  // Host time each VM exit costs its thread, not guest time (0: exits are
  // free, guest time = run time).
  uint64_t exit_cost_ns = 0;
  int windows = 300;
  uint64_t window_ns = 100000000;
};

struct VcpuResult {
  uint64_t run_ns = 0;
  uint64_t guest_ns = 0;  // its work: run_ns less the exits' host time
  uint64_t exits = 0;
  uint64_t wait_ns = 0;
  uint64_t slices = 0;
  uint64_t yields = 0;
  uint64_t warm_windows = 0;
  uint64_t payback_windows = 0;
  int64_t debt_ns = 0;          // at the end
  int64_t max_abs_debt_ns = 0;  // over the run
  // Its weight's group shift (kq_group_window), percent: summed over the
  // windows, and the lasting part at the end.
  int64_t group_shift_pct_sum = 0;
  int32_t group_pct = 0;
  uint64_t smt_windows = 0;  // decided smt
  double mean_quantum_ns() const { return slices ? double(run_ns) / double(slices) : 0; }
};

struct Result {
  std::vector<VcpuResult> vcpus;
  uint64_t run_ns = 0;  // all vCPUs
  // Time both threads of a core ran vCPUs whose window was cache-hungry
  // (kq_smt_hungry at the default smt_hungry_pct, whatever the knob),
  // summed over cores: co-scheduled cache-hungry pairs.
  uint64_t hungry_pair_ns = 0;
  // Share of the vCPUs' total run time, by VM, percent.
  std::vector<double> VmShares(const Config& c) const;
  std::vector<double> VcpuShares() const;
};

Result Run(const Config& c);

std::string Describe(const Config& c);

}  // namespace kq::sim

#endif  // KQ_SIM_SIM_HPP
