// SPDX-License-Identifier: GPL-2.0
#include "status.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

namespace kq::ctl {
namespace {

std::optional<int64_t> ReadS64(const Sysfs& sys, const std::string& rel) {
  auto t = sys.Read(rel);
  if (!t) return std::nullopt;
  auto v = SysfsValue(*t);
  if (!v.is_number_integer()) return std::nullopt;
  return v.get<int64_t>();
}

std::string Ms(std::optional<uint64_t> ns) {
  if (!ns) return "-";
  char b[32];
  std::snprintf(b, sizeof(b), "%.2f", static_cast<double>(*ns) / 1e6);
  return b;
}

std::string SignedMs(std::optional<int64_t> ns) {
  if (!ns) return "-";
  char b[32];
  std::snprintf(b, sizeof(b), "%+.2f", static_cast<double>(*ns) / 1e6);
  return b;
}

std::string Milli(std::optional<uint64_t> v) {
  if (!v) return "-";
  char b[32];
  std::snprintf(b, sizeof(b), "%.2f", static_cast<double>(*v) / 1000.0);
  return b;
}

// "+12/+10": the group shift applied in the last window / its lasting part.
std::string GroupShift(std::optional<int32_t> applied, std::optional<int32_t> lasting) {
  if (!applied || !lasting) return "-";
  auto pct = [](int32_t v) { return v ? (v > 0 ? "+" : "") + std::to_string(v) : "0"; };
  return pct(*applied) + "/" + pct(*lasting);
}

template <typename T>
nlohmann::ordered_json Opt(const std::optional<T>& v) {
  if (!v) return nullptr;
  return *v;
}

}  // namespace

Status BuildStatus(const Sysfs& sys, const std::vector<nl::VcpuSample>& samples,
                   const std::function<std::string(uint32_t pid)>& name_of) {
  Status s;
  if (auto m = sys.Read("mode")) s.mode = *m;
  std::map<std::tuple<uint32_t, uint64_t, uint32_t>, StatusRow> rows;
  for (const auto& vm : sys.ListVms()) {
    for (uint32_t idx : sys.VcpuIndices(vm)) {
      StatusRow r;
      r.vm = vm.dir;
      r.pid = vm.pid;
      r.vm_id = vm.vm_id;
      r.vcpu = idx;
      const std::string d = "vms/" + vm.dir + "/vcpus/" + std::to_string(idx) + "/";
      if (auto t = ReadS64(sys, d + "tid"); t && *t > 0) r.tid = static_cast<uint32_t>(*t);
      const Sysfs::VcpuPolicy p = sys.ReadVcpuPolicy(vm, idx);
      r.target_ns = p.target_ns;
      if (p.reason) r.reason = ReasonNames()[*p.reason];
      r.debt_ns = p.debt_ns;
      r.group_shift_pct = p.group_shift_pct;
      r.group_lasting_pct = p.group_lasting_pct;
      rows[{vm.pid, vm.vm_id, idx}] = r;
    }
  }
  for (const auto& v : samples) {
    auto& r = rows[{v.pid, v.vm_id, v.vcpu_idx}];
    r.vm = std::to_string(v.pid) + "-" + std::to_string(v.vm_id);
    r.pid = v.pid;
    r.vm_id = v.vm_id;
    r.vcpu = v.vcpu_idx;
    r.tid = v.tid;
    r.quantum_ns = v.quantum_ns;
    r.exit_rate_milli = v.exit_rate_milli;
    r.mean_run_ns = v.mean_run_ns;
    r.ipc_milli = v.ipc_milli;
    // The sample carries the policy's view too (modules with the policy).
    if (v.target_ns) r.target_ns = v.target_ns;
    if (v.reason) r.reason = ReasonNames()[*v.reason];
    if (v.debt_ns) r.debt_ns = v.debt_ns;
  }
  std::map<uint32_t, std::string> names;
  for (auto& [k, r] : rows) {
    if (name_of) {
      auto it = names.find(r.pid);
      if (it == names.end()) it = names.emplace(r.pid, name_of(r.pid)).first;
      r.name = it->second;
    }
    s.rows.push_back(r);
  }
  return s;
}

std::string FormatStatusTable(const Status& s) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"VM", "NAME", "VCPU", "TID", "QUANTUM_MS", "TARGET_MS", "REASON", "EXITS/MS",
                   "MEAN_RUN_US", "IPC", "DEBT_MS", "GROUP_PCT"});
  for (const auto& r : s.rows) {
    cells.push_back({r.vm, r.name.empty() ? "-" : r.name, std::to_string(r.vcpu),
                     r.tid ? std::to_string(*r.tid) : "-", Ms(r.quantum_ns), Ms(r.target_ns),
                     r.reason.value_or("-"), Milli(r.exit_rate_milli),
                     r.mean_run_ns ? Milli(*r.mean_run_ns) : std::string("-"),
                     r.ipc_milli ? Milli(uint64_t{*r.ipc_milli}) : std::string("-"),
                     SignedMs(r.debt_ns), GroupShift(r.group_shift_pct, r.group_lasting_pct)});
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out = "mode " + s.mode.value_or("?") + ", " + std::to_string(s.rows.size()) +
                    " vCPU" + (s.rows.size() == 1 ? "" : "s") + "\n";
  for (const auto& row : cells) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      // Text columns left-aligned, numbers right-aligned.
      const bool left = i == 0 || i == 1 || i == 6;
      const std::string pad(width[i] - row[i].size(), ' ');
      line += (i ? "  " : "") + (left ? row[i] + pad : pad + row[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

nlohmann::ordered_json StatusJson(const Status& s) {
  nlohmann::ordered_json j;
  j["mode"] = Opt(s.mode);
  j["vms"] = nlohmann::ordered_json::array();
  for (const auto& r : s.rows) {
    if (j["vms"].empty() || j["vms"].back()["vm"] != r.vm) {
      nlohmann::ordered_json vm;
      vm["vm"] = r.vm;
      vm["name"] =
          r.name.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.name);
      vm["pid"] = r.pid;
      vm["vm_id"] = r.vm_id;
      vm["vcpus"] = nlohmann::ordered_json::array();
      j["vms"].push_back(vm);
    }
    nlohmann::ordered_json v;
    v["vcpu"] = r.vcpu;
    v["tid"] = Opt(r.tid);
    v["quantum_ns"] = Opt(r.quantum_ns);
    v["target_ns"] = Opt(r.target_ns);
    v["reason"] = Opt(r.reason);
    v["exit_rate_milli"] = Opt(r.exit_rate_milli);
    v["mean_run_ns"] = Opt(r.mean_run_ns);
    v["ipc_milli"] = Opt(r.ipc_milli);
    v["debt_ns"] = Opt(r.debt_ns);
    v["group_shift_pct"] = Opt(r.group_shift_pct);
    v["group_lasting_pct"] = Opt(r.group_lasting_pct);
    j["vms"].back()["vcpus"].push_back(v);
  }
  return j;
}

}  // namespace kq::ctl
