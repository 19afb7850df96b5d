// SPDX-License-Identifier: GPL-2.0
// quantactl status: one row per vCPU from the latest netlink samples
// (GET_STATE) and the policy's view in sysfs (target, reason, debt, group
// shift).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kq_nl.hpp"
#include "sysfs.hpp"

namespace kq::ctl {

struct StatusRow {
  std::string vm;    // "<pid>-<id>"
  std::string name;  // as quantad names it (lib/naming), "" if not asked
  uint32_t pid = 0;
  uint64_t vm_id = 0;
  uint32_t vcpu = 0;
  std::optional<uint32_t> tid;
  std::optional<uint64_t> quantum_ns;
  std::optional<uint64_t> target_ns;
  std::optional<std::string> reason;
  std::optional<uint64_t> exit_rate_milli;
  std::optional<uint64_t> mean_run_ns;
  std::optional<uint32_t> ipc_milli;
  std::optional<int64_t> debt_ns;
  // Its weight's shift within its VM's group in the last window, and the
  // lasting part of it, percent (vcpus/<idx>/group_shift_pct).
  std::optional<int32_t> group_shift_pct;
  std::optional<int32_t> group_lasting_pct;
};

struct Status {
  std::optional<std::string> mode;
  std::vector<StatusRow> rows;  // sorted by pid, vm id, vCPU
};

// Rows for every vCPU in sysfs and every sample, joined on (VM id, vCPU);
// name_of (when given) names each VMM process.
Status BuildStatus(const Sysfs& sys, const std::vector<nl::VcpuSample>& samples,
                   const std::function<std::string(uint32_t pid)>& name_of = nullptr);

std::string FormatStatusTable(const Status& s);
// {"mode":..,"vms":[{"vm":"p-i","name":..,"pid":..,"vm_id":..,"vcpus":[{...}]}]}
nlohmann::ordered_json StatusJson(const Status& s);

}  // namespace kq::ctl
