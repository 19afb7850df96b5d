// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include <sstream>

#include "state.hpp"

namespace kq::quantad {
namespace {

TEST(QuantadMetrics, EscapeLabel) {
  EXPECT_EQ(EscapeLabel("plain"), "plain");
  EXPECT_EQ(EscapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(QuantadMetrics, EmptyState) {
  State s;
  EXPECT_EQ(FormatMetrics(s),
            "# HELP quantad_module_present Whether the kvm_quanta module is loaded and its "
            "telemetry subscribed (1) or not (0).\n"
            "# TYPE quantad_module_present gauge\n"
            "quantad_module_present 0\n"
            "# HELP quantad_module_loads_total Times quantad subscribed to the module's telemetry "
            "(module loads seen).\n"
            "# TYPE quantad_module_loads_total counter\n"
            "quantad_module_loads_total 0\n"
            "# HELP quantad_windows_total Telemetry windows seen.\n"
            "# TYPE quantad_windows_total counter\n"
            "quantad_windows_total 0\n"
            "# HELP quantad_windows_missed_total Telemetry windows never received (gaps in the "
            "sequence numbers).\n"
            "# TYPE quantad_windows_missed_total counter\n"
            "quantad_windows_missed_total 0\n"
            "# HELP quantad_telemetry_drops Telemetry messages the module could not deliver "
            "since it was loaded.\n"
            "# TYPE quantad_telemetry_drops gauge\n"
            "quantad_telemetry_drops 0\n"
            "# HELP quantad_telemetry_enobufs_total Receive buffer overruns of quantad's own "
            "netlink socket.\n"
            "# TYPE quantad_telemetry_enobufs_total counter\n"
            "quantad_telemetry_enobufs_total 0\n"
            "# HELP quantad_bpf_loaded Whether quantad's own BPF quanta tracer (sched_switch) is "
            "attached (1) or not (0).\n"
            "# TYPE quantad_bpf_loaded gauge\n"
            "quantad_bpf_loaded 0\n"
            "# HELP quantad_vms VMs tracked.\n"
            "# TYPE quantad_vms gauge\n"
            "quantad_vms 0\n");
}

// Only the lines that are not HELP comments, to keep the expectation short.
std::string WithoutHelp(const std::string& text) {
  std::string out, line;
  std::istringstream in(text);
  while (std::getline(in, line))
    if (line.rfind("# HELP ", 0) != 0) out += line + "\n";
  return out;
}

TEST(QuantadMetrics, SmallState) {
  State s;
  s.module_present = true;
  s.module_loads = 1;
  s.windows = 42;
  s.kernel_drops = 3;
  s.bpf_loaded = true;
  VmState& vm = s.vms[7];
  vm.id = 7;
  vm.pid = 1234;
  vm.name = "we\"b\\1";
  vm.dir = "1234-7";
  vm.applied = Policy{true, 1000, 4800, 8000, 100};
  vm.history_pct = 20;
  nl::VcpuSample smp;
  smp.vm_id = 7;
  smp.pid = 1234;
  smp.vcpu_idx = 0;
  smp.tid = 1235;
  smp.quantum_ns = 4000000;
  smp.ipc_milli = 1250;
  smp.exit_rate_milli = 2500;
  smp.exit_kinds = std::array<uint64_t, nl::kExitKinds>{5, 0, 1, 2, 0, 0, 0, 0, 0, 3};
  AddSample(&vm, smp);
  AddSample(&vm, smp);
  VcpuState& v = vm.vcpus[0];
  v.target_ns = 4800000;
  v.debt_ns = -20000;
  v.decisions = std::array<uint64_t, kReasons>{1, 2, 0, 0, 0, 0, 0, 3};
  v.bpf_quantum_ns = 3900000;
  const std::string got = WithoutHelp(FormatMetrics(s));
  const std::string l = "vm=\"we\\\"b\\\\1\",vm_id=\"7\"";
  const std::string vl = l + ",vcpu=\"0\"";
  std::string want =
      "# TYPE quantad_module_present gauge\nquantad_module_present 1\n"
      "# TYPE quantad_module_loads_total counter\nquantad_module_loads_total 1\n"
      "# TYPE quantad_windows_total counter\nquantad_windows_total 42\n"
      "# TYPE quantad_windows_missed_total counter\nquantad_windows_missed_total 0\n"
      "# TYPE quantad_telemetry_drops gauge\nquantad_telemetry_drops 3\n"
      "# TYPE quantad_telemetry_enobufs_total counter\nquantad_telemetry_enobufs_total 0\n"
      "# TYPE quantad_bpf_loaded gauge\nquantad_bpf_loaded 1\n"
      "# TYPE quantad_vms gauge\nquantad_vms 1\n"
      "# TYPE quantad_vm_info gauge\nquantad_vm_info{" +
      l +
      ",pid=\"1234\",sysfs=\"1234-7\"} 1\n"
      "# TYPE quantad_vm_base_quantum_us gauge\nquantad_vm_base_quantum_us{" +
      l +
      "} 4800\n"
      "# TYPE quantad_vm_history_adjust_pct gauge\nquantad_vm_history_adjust_pct{" +
      l +
      "} 20\n"
      "# TYPE quantad_vcpu_quantum_ns gauge\nquantad_vcpu_quantum_ns{" +
      vl +
      "} 4000000\n"
      "# TYPE quantad_vcpu_quantum_bpf_ns gauge\nquantad_vcpu_quantum_bpf_ns{" +
      vl +
      "} 3900000\n"
      "# TYPE quantad_vcpu_target_quantum_ns gauge\n"
      "quantad_vcpu_target_quantum_ns{" +
      vl +
      "} 4800000\n"
      "# TYPE quantad_vcpu_debt_ns gauge\nquantad_vcpu_debt_ns{" +
      vl +
      "} -20000\n"
      "# TYPE quantad_vcpu_ipc gauge\nquantad_vcpu_ipc{" +
      vl +
      "} 1.25\n"
      "# TYPE quantad_vcpu_exit_rate_per_ms gauge\nquantad_vcpu_exit_rate_per_ms{" +
      vl +
      "} 2.5\n"
      "# TYPE quantad_vcpu_windows_total counter\nquantad_vcpu_windows_total{" +
      vl +
      "} 2\n"
      "# TYPE quantad_vcpu_exits_total counter\n";
  const char* kinds[] = {"io",        "mmio",       "hlt",        "intr",      "npf",
                         "hypercall", "irq_window", "nmi_window", "emulation", "other"};
  const int counts[] = {10, 0, 2, 4, 0, 0, 0, 0, 0, 6};
  for (int k = 0; k < 10; ++k)
    want += "quantad_vcpu_exits_total{" + vl + ",kind=\"" + kinds[k] + "\"} " +
            std::to_string(counts[k]) + "\n";
  want += "# TYPE quantad_vcpu_decisions_total counter\n";
  const char* reasons[] = {"base",      "warm",    "exit_heavy", "flush",   "spin",
                           "phase_end", "payback", "idle",       "latency", "smt"};
  const int dec[] = {1, 2, 0, 0, 0, 0, 0, 3, 0, 0};
  for (int r = 0; r < 10; ++r)
    want += "quantad_vcpu_decisions_total{" + vl + ",reason=\"" + reasons[r] + "\"} " +
            std::to_string(dec[r]) + "\n";
  EXPECT_EQ(got, want);
  // Every family has HELP and TYPE.
  const std::string full = FormatMetrics(s);
  size_t helps = 0, types = 0;
  for (size_t p = 0; (p = full.find("# HELP ", p)) != std::string::npos; ++p) ++helps;
  for (size_t p = 0; (p = full.find("# TYPE ", p)) != std::string::npos; ++p) ++types;
  EXPECT_EQ(helps, types);
}

}  // namespace
}  // namespace kq::quantad
