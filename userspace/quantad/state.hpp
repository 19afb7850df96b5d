// SPDX-License-Identifier: GPL-2.0
// What quantad knows: the latest state per VM and vCPU, and its rendering
// in the Prometheus text exposition format.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"
#include "kq_nl.hpp"
#include "sysfs.hpp"

namespace kq::quantad {

struct VcpuState {
  uint32_t tid = 0;
  uint64_t windows = 0;  // samples seen
  std::optional<uint64_t> quantum_ns;
  std::optional<uint64_t> target_ns;
  std::optional<uint32_t> reason;
  std::optional<int64_t> debt_ns;
  std::optional<uint32_t> ipc_milli;
  std::optional<uint32_t> llc_mpki_milli;
  std::optional<uint32_t> br_mpki_milli;
  std::optional<uint64_t> exit_rate_milli;
  std::array<uint64_t, nl::kExitKinds> exits{};             // cumulative, from the windows seen
  std::optional<std::array<uint64_t, kReasons>> decisions;  // cumulative (kernel)
  std::array<uint64_t, kReasons> decisions_folded{};        // already added to the profile
  // Achieved quantum measured by quantad's BPF program over its last tick.
  std::optional<uint64_t> bpf_quantum_ns;
  uint64_t bpf_count = 0, bpf_total_ns = 0;  // cumulative, as last read
};

struct VmState {
  uint64_t id = 0;
  uint32_t pid = 0;
  std::string name;
  bool named = false;  // false: "pid-N", no name found
  std::string dir;     // sysfs "<pid>-<id>"
  std::map<uint32_t, VcpuState> vcpus;
  std::optional<Policy> applied;  // last policy written (with the history base)
  int history_pct = 0;
  bool knobs_absent_logged = false;
};

struct State {
  bool module_present = false;
  uint64_t kernel_drops = 0;
  uint64_t enobufs = 0;
  uint64_t windows = 0;  // windows seen (distinct SEQ)
  uint64_t windows_missed = 0;
  uint64_t last_seq = 0;
  uint64_t module_loads = 0;        // times the family was (re)subscribed
  bool bpf_loaded = false;          // the BPF quanta tracer is attached
  std::map<uint64_t, VmState> vms;  // by VM id
};

// Folds one vCPU sample into the state (vm must exist).
void AddSample(VmState* vm, const nl::VcpuSample& s);

std::string EscapeLabel(std::string_view v);
// The Prometheus text exposition (version 0.0.4) of the state.
std::string FormatMetrics(const State& s);

}  // namespace kq::quantad
