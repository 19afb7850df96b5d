// SPDX-License-Identifier: GPL-2.0
// quantactl record/replay: netlink windows as JSON lines, and the shared
// policy code (src/core/policy.c) run over a recording as a what-if.
//
// A recording is JSON lines, each an object with "type":
//   {"type":"header","version":1,"interval_ms":..,"mode":"..","params":{..}}
//   {"type":"vm","vm":"<pid>-<id>","pid":..,"vm_id":..,"policy":{..}}
//       (before the first window with one of its vCPUs; policy as in sysfs)
//   {"type":"window","seq":..,"time_ns":..,"nr_vcpus":..,"complete":..,
//    "vcpus":[sample,...]}
// A sample has the netlink field names (see SampleToJson); absent values
// are left out.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "json.hpp"
#include "knobs.hpp"
#include "kq_nl.hpp"
#include "names.hpp"
#include "window.hpp"

namespace kq::ctl {

// Samples as JSON lines: nl/json.hpp's, shared with kq-nlwatch.
using nl::SampleFromJson;
using nl::SampleToJson;

nlohmann::ordered_json WindowLine(const nl::Window& w);

struct RecordedVm {
  std::string vm;
  uint32_t pid = 0;
  uint64_t vm_id = 0;
  KnobValues policy;  // what sysfs said; may be empty
};

struct RecordedWindow {
  uint64_t seq = 0;
  uint64_t time_ns = 0;
  std::vector<nl::VcpuSample> vcpus;
};

struct Recording {
  KnobValues params;                   // host-wide, as recorded (may be empty)
  std::map<uint64_t, RecordedVm> vms;  // by VM id
  std::vector<RecordedWindow> windows;
};

inline constexpr uint32_t kRecordingVersion = 1;

// Reads a recording, totally: the header first, with version
// kRecordingVersion; every field of the right type and within its range
// (pid and the 32-bit fields of a sample fit 32 bits, knobs and params in
// the ranges of VmKnobs() and HostParams()); at least one window.  On
// failure *error says why, with the line number.
std::optional<Recording> ReadRecording(std::istream& in, std::string* error);

struct ReasonStats {
  uint64_t windows = 0;
  uint64_t target_ns_sum = 0;
};

struct ReplayVcpu {
  uint32_t vcpu = 0;
  uint32_t tid = 0;
  uint64_t windows = 0;
  uint64_t target_ns_sum = 0;
  uint64_t run_ns = 0;
  uint64_t slices = 0;
  int64_t debt_ns = 0;  // at the end
  std::map<std::string, ReasonStats> by_reason;
  // Its weight's shift within its VM's group (kq_group_window), percent:
  // summed over its windows, and the lasting part at the end.
  int64_t group_shift_pct_sum = 0;
  int32_t group_pct = 0;
};

struct ReplayVm {
  std::string vm;
  uint32_t pid = 0;
  uint64_t vm_id = 0;
  KnobValues policy;  // used
  uint64_t run_ns = 0;
  std::map<uint32_t, ReplayVcpu> vcpus;
};

struct ReplayResult {
  KnobValues params;  // used
  uint64_t windows = 0;
  uint64_t run_ns = 0;
  std::map<uint64_t, ReplayVm> vms;  // by VM id
};

// Runs kq_policy_window over every sample, per vCPU in recording order, with
// the recorded policy (defaults where none; no group in a recording from
// before groups) and overrides applied: VM knobs to every VM, host
// parameters to the host.  Each window as the module's: the weights, the
// grouped vCPUs' shifted within their groups (kq_group_window), the ledger
// against them, the decisions.  Fails if a VM's resulting knobs are
// invalid (min <= base <= max).
std::optional<ReplayResult> Replay(const Recording& rec, const KnobValues& vm_overrides,
                                   const KnobValues& param_overrides, std::string* error);

std::string FormatReplay(const ReplayResult& r);
nlohmann::ordered_json ReplayJson(const ReplayResult& r);

}  // namespace kq::ctl
