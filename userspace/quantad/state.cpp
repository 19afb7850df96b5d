// SPDX-License-Identifier: GPL-2.0
#include "state.hpp"

#include <fmt/format.h>

#include <vector>

namespace kq::quantad {

void AddSample(VmState* vm, const nl::VcpuSample& s) {
  VcpuState& v = vm->vcpus[s.vcpu_idx];
  v.tid = s.tid;
  ++v.windows;
  v.quantum_ns = s.quantum_ns;
  v.ipc_milli = s.ipc_milli;
  v.llc_mpki_milli = s.llc_mpki_milli;
  v.br_mpki_milli = s.br_mpki_milli;
  v.exit_rate_milli = s.exit_rate_milli;
  v.target_ns = s.target_ns;
  v.reason = s.reason;
  v.debt_ns = s.debt_ns;
  if (s.exit_kinds)
    for (size_t i = 0; i < nl::kExitKinds; ++i) v.exits[i] += (*s.exit_kinds)[i];
}

std::string EscapeLabel(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

class Writer {
 public:
  // Starts a metric family: its HELP and TYPE lines.
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <typename T>
  void Sample(std::string_view labels, T value) {
    if (labels.empty())
      out_ += fmt::format("{} {}\n", name_, value);
    else
      out_ += fmt::format("{}{{{}}} {}\n", name_, labels, value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string name_;
  std::string out_;
};

std::string VmLabels(const VmState& vm) {
  return fmt::format("vm=\"{}\",vm_id=\"{}\"", EscapeLabel(vm.name), vm.id);
}

std::string VcpuLabels(const VmState& vm, uint32_t idx) {
  return fmt::format("{},vcpu=\"{}\"", VmLabels(vm), idx);
}

// A per-vCPU gauge over every vCPU that has the value.
template <typename F>
void VcpuGauge(Writer& w, const State& s, std::string_view name, std::string_view help, F get) {
  bool any = false;
  for (const auto& [id, vm] : s.vms)
    for (const auto& [idx, v] : vm.vcpus)
      if (get(v)) any = true;
  if (!any) return;
  w.Family(name, "gauge", help);
  for (const auto& [id, vm] : s.vms)
    for (const auto& [idx, v] : vm.vcpus)
      if (auto x = get(v)) w.Sample(VcpuLabels(vm, idx), *x);
}

}  // namespace

std::string FormatMetrics(const State& s) {
  Writer w;
  w.Family("quantad_module_present", "gauge",
           "Whether the kvm_quanta module is loaded and its telemetry subscribed (1) or not (0).");
  w.Sample("", s.module_present ? 1 : 0);
  w.Family("quantad_module_loads_total", "counter",
           "Times quantad subscribed to the module's telemetry (module loads seen).");
  w.Sample("", s.module_loads);
  w.Family("quantad_windows_total", "counter", "Telemetry windows seen.");
  w.Sample("", s.windows);
  w.Family("quantad_windows_missed_total", "counter",
           "Telemetry windows never received (gaps in the sequence numbers).");
  w.Sample("", s.windows_missed);
  w.Family("quantad_telemetry_drops", "gauge",
           "Telemetry messages the module could not deliver since it was loaded.");
  w.Sample("", s.kernel_drops);
  w.Family("quantad_telemetry_enobufs_total", "counter",
           "Receive buffer overruns of quantad's own netlink socket.");
  w.Sample("", s.enobufs);
  w.Family("quantad_bpf_loaded", "gauge",
           "Whether quantad's own BPF quanta tracer (sched_switch) is attached (1) or not (0).");
  w.Sample("", s.bpf_loaded ? 1 : 0);
  w.Family("quantad_vms", "gauge", "VMs tracked.");
  w.Sample("", s.vms.size());
  if (!s.vms.empty()) {
    w.Family("quantad_vm_info", "gauge", "One series per VM: its name, id and VMM pid.");
    for (const auto& [id, vm] : s.vms)
      w.Sample(fmt::format("{},pid=\"{}\",sysfs=\"{}\"", VmLabels(vm), vm.pid, EscapeLabel(vm.dir)),
               1);
    bool any_policy = false;
    for (const auto& [id, vm] : s.vms) any_policy |= vm.applied.has_value();
    if (any_policy) {
      w.Family("quantad_vm_base_quantum_us", "gauge",
               "Base quantum written to the VM's policy (history adjustment included), us.");
      for (const auto& [id, vm] : s.vms)
        if (vm.applied) w.Sample(VmLabels(vm), vm.applied->base_quantum_us);
      w.Family("quantad_vm_history_adjust_pct", "gauge",
               "History adjustment of the base quantum from the VM's long-term profile, %.");
      for (const auto& [id, vm] : s.vms)
        if (vm.applied) w.Sample(VmLabels(vm), vm.history_pct);
    }
  }
  VcpuGauge(w, s, "quantad_vcpu_quantum_ns",
            "Achieved quantum: mean time on a CPU per scheduling in the last window, ns.",
            [](const VcpuState& v) { return v.quantum_ns; });
  VcpuGauge(w, s, "quantad_vcpu_quantum_bpf_ns",
            "Achieved quantum measured at sched_switch by quantad's BPF program, independently "
            "of the module: mean over the last second, ns.",
            [](const VcpuState& v) { return v.bpf_quantum_ns; });
  VcpuGauge(w, s, "quantad_vcpu_target_quantum_ns",
            "The policy's target quantum for the next window, ns.",
            [](const VcpuState& v) { return v.target_ns; });
  VcpuGauge(w, s, "quantad_vcpu_debt_ns",
            "Time granted beyond the base not yet paid back (negative: owed), ns.",
            [](const VcpuState& v) { return v.debt_ns; });
  VcpuGauge(w, s, "quantad_vcpu_ipc", "Guest instructions per cycle in the last window.",
            [](const VcpuState& v) -> std::optional<double> {
              if (!v.ipc_milli) return std::nullopt;
              return *v.ipc_milli / 1000.0;
            });
  VcpuGauge(w, s, "quantad_vcpu_llc_mpki", "Guest LLC misses per 1000 instructions.",
            [](const VcpuState& v) -> std::optional<double> {
              if (!v.llc_mpki_milli) return std::nullopt;
              return *v.llc_mpki_milli / 1000.0;
            });
  VcpuGauge(w, s, "quantad_vcpu_branch_mpki", "Guest branch misses per 1000 instructions.",
            [](const VcpuState& v) -> std::optional<double> {
              if (!v.br_mpki_milli) return std::nullopt;
              return *v.br_mpki_milli / 1000.0;
            });
  VcpuGauge(w, s, "quantad_vcpu_exit_rate_per_ms",
            "VM exits per ms of guest time in the last window.",
            [](const VcpuState& v) -> std::optional<double> {
              if (!v.exit_rate_milli) return std::nullopt;
              return static_cast<double>(*v.exit_rate_milli) / 1000.0;
            });
  bool any_vcpu = false;
  for (const auto& [id, vm] : s.vms) any_vcpu |= !vm.vcpus.empty();
  if (any_vcpu) {
    w.Family("quantad_vcpu_windows_total", "counter", "Telemetry windows seen for the vCPU.");
    for (const auto& [id, vm] : s.vms)
      for (const auto& [idx, v] : vm.vcpus) w.Sample(VcpuLabels(vm, idx), v.windows);
    w.Family("quantad_vcpu_exits_total", "counter", "VM exits by kind in the windows quantad saw.");
    for (const auto& [id, vm] : s.vms)
      for (const auto& [idx, v] : vm.vcpus)
        for (size_t k = 0; k < nl::kExitKinds; ++k)
          w.Sample(fmt::format("{},kind=\"{}\"", VcpuLabels(vm, idx), nl::kExitKindNames[k]),
                   v.exits[k]);
  }
  bool any_decisions = false;
  for (const auto& [id, vm] : s.vms)
    for (const auto& [idx, v] : vm.vcpus) any_decisions |= v.decisions.has_value();
  if (any_decisions) {
    w.Family("quantad_vcpu_decisions_total", "counter",
             "Policy decisions by reason since the module first saw the vCPU.");
    for (const auto& [id, vm] : s.vms)
      for (const auto& [idx, v] : vm.vcpus)
        if (v.decisions)
          for (size_t r = 0; r < kReasons; ++r)
            w.Sample(fmt::format("{},reason=\"{}\"", VcpuLabels(vm, idx), ReasonNames()[r]),
                     (*v.decisions)[r]);
  }
  return w.Take();
}

}  // namespace kq::quantad
