// SPDX-License-Identifier: GPL-2.0
#include "json.hpp"

extern "C" {
#include "policy.h"
}

namespace kq::nl {
namespace {

template <typename T>
void Put(nlohmann::ordered_json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

}  // namespace

nlohmann::ordered_json SampleToJson(const VcpuSample& v) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["vm_id"] = v.vm_id;
  j["pid"] = v.pid;
  j["vcpu_idx"] = v.vcpu_idx;
  j["tid"] = v.tid;
  Put(j, "cpu", v.cpu);
  Put(j, "window_ns", v.window_ns);
  Put(j, "guest_ns", v.guest_ns);
  Put(j, "exits", v.exits);
  if (v.exit_kinds) {
    ordered_json k;
    for (size_t i = 0; i < kExitKinds; ++i) {
      k[std::string(kExitKindNames[i])] = (*v.exit_kinds)[i];
    }
    j["exit_kinds"] = k;
  }
  Put(j, "run_ns", v.run_ns);
  Put(j, "wait_ns", v.wait_ns);
  Put(j, "slices", v.slices);
  Put(j, "halt_ns", v.halt_ns);
  if (v.pmu) {
    ordered_json p;
    for (size_t i = 0; i < kPmuRoles; ++i) {
      const auto& c = (*v.pmu)[i];
      p[std::string(kPmuRoleNames[i])] = c ? ordered_json(*c) : ordered_json(nullptr);
    }
    j["pmu"] = p;
  }
  Put(j, "ipc_milli", v.ipc_milli);
  Put(j, "llc_mpki_milli", v.llc_mpki_milli);
  Put(j, "br_mpki_milli", v.br_mpki_milli);
  Put(j, "exit_rate_milli", v.exit_rate_milli);
  Put(j, "mean_run_ns", v.mean_run_ns);
  Put(j, "quantum_ns", v.quantum_ns);
  Put(j, "target_ns", v.target_ns);
  if (v.reason) j["reason"] = kq_reason_name(*v.reason);
  Put(j, "debt_ns", v.debt_ns);
  if (v.decisions) {
    ordered_json d;
    for (size_t i = 0; i < kReasonCount; ++i)
      d[kq_reason_name(static_cast<unsigned>(i))] = (*v.decisions)[i];
    j["decisions"] = d;
  }
  if (v.guest_ns_by_cpu) {
    ordered_json a = ordered_json::array();
    for (const auto& c : *v.guest_ns_by_cpu) a.push_back({{"cpu", c.cpu}, {"ns", c.ns}});
    j["guest_ns_by_cpu"] = a;
  }
  return j;
}

std::optional<VcpuSample> SampleFromJson(const nlohmann::json& j, std::string* error) {
  if (!j.is_object()) {
    *error = "sample is not an object";
    return std::nullopt;
  }
  VcpuSample v;
  std::optional<uint64_t> vm_id;
  std::optional<uint32_t> pid, idx, tid;
  if (!JsonGet(j, "vm_id", &vm_id) || !JsonGet(j, "pid", &pid) || !JsonGet(j, "vcpu_idx", &idx) ||
      !JsonGet(j, "tid", &tid) || !vm_id || !pid || !idx || !tid) {
    *error = "sample without its identity (vm_id, pid, vcpu_idx, tid)";
    return std::nullopt;
  }
  v.vm_id = *vm_id;
  v.pid = *pid;
  v.vcpu_idx = *idx;
  v.tid = *tid;
  bool ok = JsonGet(j, "cpu", &v.cpu) && JsonGet(j, "window_ns", &v.window_ns) &&
            JsonGet(j, "guest_ns", &v.guest_ns) && JsonGet(j, "exits", &v.exits) &&
            JsonGet(j, "run_ns", &v.run_ns) && JsonGet(j, "wait_ns", &v.wait_ns) &&
            JsonGet(j, "slices", &v.slices) && JsonGet(j, "halt_ns", &v.halt_ns) &&
            JsonGet(j, "ipc_milli", &v.ipc_milli) &&
            JsonGet(j, "llc_mpki_milli", &v.llc_mpki_milli) &&
            JsonGet(j, "br_mpki_milli", &v.br_mpki_milli) &&
            JsonGet(j, "exit_rate_milli", &v.exit_rate_milli) &&
            JsonGet(j, "mean_run_ns", &v.mean_run_ns) && JsonGet(j, "quantum_ns", &v.quantum_ns);
  if (auto it = j.find("exit_kinds"); ok && it != j.end() && it->is_object()) {
    std::array<uint64_t, kExitKinds> k{};
    for (size_t i = 0; i < kExitKinds; ++i) {
      std::optional<uint64_t> c;
      ok = ok && JsonGet(*it, std::string(kExitKindNames[i]).c_str(), &c);
      k[i] = c.value_or(0);
    }
    v.exit_kinds = k;
  }
  if (auto it = j.find("pmu"); ok && it != j.end() && it->is_object()) {
    std::array<std::optional<uint64_t>, kPmuRoles> p{};
    for (size_t i = 0; i < kPmuRoles; ++i) {
      ok = ok && JsonGet(*it, std::string(kPmuRoleNames[i]).c_str(), &p[i]);
    }
    v.pmu = p;
  }
  ok = ok && JsonGet(j, "target_ns", &v.target_ns);
  if (auto it = j.find("reason"); ok && it != j.end() && !it->is_null()) {
    ok = false;
    for (size_t r = 0; r < kReasonCount; ++r)
      if (it->is_string() && *it == kq_reason_name(static_cast<unsigned>(r))) {
        v.reason = static_cast<uint32_t>(r);
        ok = true;
      }
  }
  if (auto it = j.find("debt_ns"); ok && it != j.end() && !it->is_null()) {
    ok = it->is_number_integer();
    if (ok) v.debt_ns = it->get<int64_t>();
  }
  if (auto it = j.find("decisions"); ok && it != j.end() && it->is_object()) {
    std::array<uint64_t, kReasonCount> d{};
    for (size_t r = 0; r < kReasonCount; ++r) {
      std::optional<uint64_t> c;
      ok = ok && JsonGet(*it, kq_reason_name(static_cast<unsigned>(r)), &c);
      d[r] = c.value_or(0);
    }
    v.decisions = d;
  }
  if (!ok) {
    *error = "sample with a value that is not an unsigned number (or a reason name)";
    return std::nullopt;
  }
  if (auto it = j.find("guest_ns_by_cpu"); it != j.end() && !it->is_null()) {
    std::vector<VcpuSample::CpuNs> by_cpu;
    ok = it->is_array() && !it->empty();
    for (size_t i = 0; ok && i < it->size(); ++i) {
      std::optional<uint32_t> cpu;
      std::optional<uint64_t> ns;
      const auto& e = (*it)[i];
      ok = e.is_object() && JsonGet(e, "cpu", &cpu) && JsonGet(e, "ns", &ns) && cpu && ns;
      if (ok) by_cpu.push_back({*cpu, *ns});
    }
    if (!ok) {
      *error = "guest_ns_by_cpu: want an array of objects {\"cpu\": u32, \"ns\": u64}";
      return std::nullopt;
    }
    v.guest_ns_by_cpu = std::move(by_cpu);
  }
  return v;
}

}  // namespace kq::nl
