// SPDX-License-Identifier: GPL-2.0
#include "recording.hpp"

#include <cstdio>
#include <limits>

extern "C" {
#include "group.h"
#include "policy.h"
#include "state.h"
#include "thresholds.h"
}

namespace kq::ctl {
namespace {

using nl::JsonGet;
using nl::JsonUnsigned;
using nlohmann::json;
using nlohmann::ordered_json;

}  // namespace
ordered_json WindowLine(const nl::Window& w) {
  ordered_json j;
  j["type"] = "window";
  j["seq"] = w.seq;
  j["time_ns"] = w.time_ns;
  j["nr_vcpus"] = w.nr_vcpus;
  j["complete"] = w.complete();
  j["vcpus"] = ordered_json::array();
  for (const auto& v : w.vcpus) j["vcpus"].push_back(nl::SampleToJson(v));
  return j;
}

std::optional<Recording> ReadRecording(std::istream& in, std::string* error) {
  Recording rec;
  std::string line;
  size_t n = 0;
  bool header = false;
  auto fail = [&](const std::string& why) {
    *error = "line " + std::to_string(n) + ": " + why;
    return std::nullopt;
  };
  // Knob values as recorded: each known to specs, in its range.
  auto knobs = [](const json& j, const std::vector<KnobSpec>& specs, const char* what,
                  KnobValues* out, std::string* why) {
    if (!j.is_object()) {
      *why = std::string(what) + " is not an object";
      return false;
    }
    for (const auto& [k, v] : j.items()) {
      const KnobSpec* spec = FindKnob(specs, k);
      auto u = JsonUnsigned<uint64_t>(v);
      if (!spec) {
        *why = std::string(what) + ": unknown key '" + k + "'";
        return false;
      }
      if (!u || *u < spec->lo || *u > spec->hi) {
        *why = std::string(what) + "." + k + " = " + v.dump() + ": not in " +
               std::to_string(spec->lo) + ".." + std::to_string(spec->hi);
        return false;
      }
      (*out)[k] = *u;
    }
    return true;
  };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
    auto t = j.find("type");
    if (t == j.end() || !t->is_string()) return fail("\"type\" missing or not a string");
    const std::string type = t->get<std::string>();
    if (!header && type != "header") return fail("expected the header first, got '" + type + "'");
    std::string why;
    if (type == "header") {
      if (header) return fail("a second header");
      header = true;
      auto v = j.find("version");
      if (v == j.end() || !JsonUnsigned<uint32_t>(*v))
        return fail("header without an unsigned \"version\"");
      if (*JsonUnsigned<uint32_t>(*v) != kRecordingVersion)
        return fail("recording version " + v->dump() + " is not supported (this quantactl reads " +
                    std::to_string(kRecordingVersion) + ")");
      if (j.contains("params") && !knobs(j["params"], HostParams(), "params", &rec.params, &why))
        return fail(why);
    } else if (type == "vm") {
      RecordedVm vm;
      auto name = j.find("vm");
      std::optional<uint32_t> pid;
      std::optional<uint64_t> id;
      if (name == j.end() || !name->is_string() || !JsonGet(j, "pid", &pid) ||
          !JsonGet(j, "vm_id", &id) || !pid || !id)
        return fail("vm line needs \"vm\" (a string), \"pid\" (u32) and \"vm_id\" (u64)");
      vm.vm = name->get<std::string>();
      vm.pid = *pid;
      vm.vm_id = *id;
      if (j.contains("policy") && !knobs(j["policy"], VmKnobs(), "policy", &vm.policy, &why))
        return fail(why);
      rec.vms[vm.vm_id] = vm;
    } else if (type == "window") {
      RecordedWindow w;
      std::optional<uint64_t> seq, time_ns;
      if (!JsonGet(j, "seq", &seq) || !JsonGet(j, "time_ns", &time_ns))
        return fail("window with a seq or time_ns that is not an unsigned number");
      w.seq = seq.value_or(0);
      w.time_ns = time_ns.value_or(0);
      auto it = j.find("vcpus");
      if (it == j.end() || !it->is_array()) return fail("window without vcpus");
      for (const auto& s : *it) {
        auto v = nl::SampleFromJson(s, &why);
        if (!v) return fail(why);
        w.vcpus.push_back(*v);
      }
      rec.windows.push_back(std::move(w));
    } else {
      return fail("unknown type '" + type + "'");
    }
  }
  if (in.bad()) return fail("read error");
  if (!header) {
    *error = "empty recording (no header line)";
    return std::nullopt;
  }
  if (rec.windows.empty()) {
    *error = "no windows in the recording (recorded while no VM ran?)";
    return std::nullopt;
  }
  return rec;
}

namespace {

kq_window ToWindow(const nl::VcpuSample& v) {
  kq_window w;
  kq_window_init(&w);
  w.window_ns = v.window_ns.value_or(0);
  w.guest_ns = v.guest_ns.value_or(0);
  w.exits = v.exits.value_or(0);
  if (v.exit_kinds) {
    for (size_t i = 0; i < nl::kExitKinds; ++i) w.kinds[i] = (*v.exit_kinds)[i];
  }
  w.run_ns = v.run_ns.value_or(0);
  w.wait_ns = v.wait_ns.value_or(0);
  w.slices = v.slices.value_or(0);
  w.halt_ns = v.halt_ns.value_or(0);
  if (v.pmu) {
    for (size_t i = 0; i < nl::kPmuRoles; ++i) w.pmu[i] = (*v.pmu)[i].value_or(KQ_NONE64);
  }
  kq_window_derive(&w);
  return w;
}

kq_vm_policy ToVmPolicy(const KnobValues& k) {
  kq_vm_policy vp;
  kq_vm_policy_defaults(&vp);
  auto get = [&](const char* key, u32 def) {
    auto it = k.find(key);
    return it == k.end() ? def : static_cast<u32>(it->second);
  };
  vp.enabled = get("enabled", vp.enabled ? 1 : 0) != 0;
  vp.min_us = get("min_quantum_us", vp.min_us);
  vp.base_us = get("base_quantum_us", vp.base_us);
  vp.max_us = get("max_quantum_us", vp.max_us);
  vp.weight = get("weight", vp.weight);
  vp.group = get("group", vp.group);
  return vp;
}

KnobValues VmPolicyValues(const kq_vm_policy& vp) {
  return {{"enabled", vp.enabled ? 1 : 0}, {"min_quantum_us", vp.min_us},
          {"base_quantum_us", vp.base_us}, {"max_quantum_us", vp.max_us},
          {"weight", vp.weight},           {"group", vp.group}};
}

struct VcpuState {
  kq_history h;
  kq_vcpu_policy st;
};

// A vCPU's guest time by CPU in a window, for kq_ledger_split().
struct Split {
  s32 cpus[KQ_RAN_SLOTS];
  u64 ns[KQ_RAN_SLOTS];
  unsigned n = 0;
};

std::string Ms(double ns, bool sign = false) {
  char b[32];
  std::snprintf(b, sizeof(b), sign ? "%+.2f ms" : "%.2f ms", ns / 1e6);
  return b;
}

}  // namespace

std::optional<ReplayResult> Replay(const Recording& rec, const KnobValues& vm_overrides,
                                   const KnobValues& param_overrides, std::string* error) {
  ReplayResult r;
  kq_policy_params params;
  kq_policy_defaults(&params);
  for (const auto& [k, v] : rec.params) SetHostParam(&params, k, v);
  for (const auto& [k, v] : param_overrides) SetHostParam(&params, k, v);
  r.params = HostParamValues(params);

  std::map<uint64_t, kq_vm_policy> policies;
  std::map<std::pair<uint64_t, uint32_t>, VcpuState> state;
  kq_host_dist dist;
  kq_dist_init(&dist);
  for (const auto& w : rec.windows) {
    ++r.windows;
    // As the module does every window (src/window.c): the PMU thresholds
    // from the host's windows before this one (kq_thresholds_apply; the
    // recording's windows are the host's), each vCPU's share of its VM's
    // weight (kq_ledger_weight), shifted within its VM's group
    // (kq_group_window), the ledger over all vCPUs against those weights
    // (kq_ledger_window; a vCPU joins from its second window), then each
    // vCPU's decision against its history so far; then the window joins
    // the history.
    kq_policy_params used;
    kq_thresholds_apply(&dist, &params, &used);
    std::vector<kq_window> wins;
    std::vector<VcpuState*> states;
    std::vector<kq_ledger_entry> ledger;
    std::vector<unsigned> entries;  // per vCPU, its entries in ledger, in order
    std::vector<u32> weights;       // per vCPU, its ledger weight
    std::vector<Split> splits;      // per vCPU, the CPUs it ran on
    std::map<uint64_t, uint64_t> vm_runnable;
    for (const auto& v : w.vcpus) {
      wins.push_back(ToWindow(v));
      if (kq_policy_uses_pmu(&params, &wins.back())) kq_dist_add(&dist, &wins.back());
      vm_runnable[v.vm_id] += wins.back().run_ns + wins.back().wait_ns;
    }
    for (size_t i = 0; i < w.vcpus.size(); ++i) {
      const auto& v = w.vcpus[i];
      auto pit = policies.find(v.vm_id);
      if (pit == policies.end()) {
        KnobValues k;
        if (auto it = rec.vms.find(v.vm_id); it != rec.vms.end()) k = it->second.policy;
        for (const auto& [key, val] : vm_overrides) k[key] = val;
        kq_vm_policy vp = ToVmPolicy(k);
        const std::string name = std::to_string(v.pid) + "-" + std::to_string(v.vm_id);
        if (kq_vm_policy_validate(&vp) != 0) {
          std::string why;
          KnobValues vals = VmPolicyValues(vp);
          if (QuantaOrdered(vals, &why)) why = "a value is out of range";
          *error = "VM " + name + ": invalid policy: " + why;
          return std::nullopt;
        }
        pit = policies.emplace(v.vm_id, vp).first;
        ReplayVm& vm = r.vms[v.vm_id];
        vm.vm = name;
        vm.pid = v.pid;
        vm.vm_id = v.vm_id;
        vm.policy = VmPolicyValues(vp);
      }
      auto [sit, fresh] = state.try_emplace({v.vm_id, v.vcpu_idx});
      VcpuState& s = sit->second;
      if (fresh) {
        kq_history_init(&s.h);
        kq_vcpu_policy_init(&s.st, &pit->second);
      }
      states.push_back(&s);
      const kq_window& win = wins[i];
      weights.push_back(kq_ledger_weight(pit->second.weight, win.run_ns + win.wait_ns,
                                         vm_runnable[v.vm_id], win.window_ns));
      // The CPUs it ran on, as the module split its time (a recording of a
      // module without the split: none, and where it was is all there is).
      Split& sp = splits.emplace_back();
      for (const auto& c : v.guest_ns_by_cpu.value_or(std::vector<nl::VcpuSample::CpuNs>{})) {
        if (sp.n == KQ_RAN_SLOTS) break;
        sp.cpus[sp.n] = static_cast<s32>(c.cpu);
        sp.ns[sp.n++] = c.ns;
      }
    }
    // The grouped vCPUs of enabled VMs together, each with its lasting
    // shift if it was learnt in this group (else 0), on the one CPU it ran
    // on (-1 when it ran on several); the others' shifts are 0.
    std::vector<kq_group_member> members;
    std::vector<size_t> grouped;
    for (size_t i = 0; i < w.vcpus.size(); ++i) {
      const auto& v = w.vcpus[i];
      const kq_vm_policy& vp = policies.at(v.vm_id);
      kq_vcpu_policy& st = states[i]->st;
      const u32 group = vp.enabled ? vp.group : 0;
      const s32 lasting = st.group == group ? st.group_pct : 0;
      if (!group) {
        st.group = 0;
        st.group_pct = 0;
        st.group_shift_pct = 0;
        continue;
      }
      const Split& sp = splits[i];
      const s32 cpu = sp.n > 1 ? -1 : sp.n ? sp.cpus[0] : static_cast<s32>(v.cpu.value_or(0));
      kq_group_member_init(&members.emplace_back(), group, v.vm_id, cpu, &wins[i], weights[i],
                           lasting);
      grouped.push_back(i);
    }
    if (!members.empty())
      kq_group_window(&params, members.data(), static_cast<unsigned>(members.size()));
    for (size_t k = 0; k < members.size(); ++k) {
      kq_vcpu_policy& st = states[grouped[k]]->st;
      weights[grouped[k]] = members[k].weight;
      st.group = members[k].group;
      st.group_pct = members[k].lasting_pct;
      st.group_shift_pct = members[k].shift_pct;
    }
    for (size_t i = 0; i < w.vcpus.size(); ++i) {
      const auto& v = w.vcpus[i];
      const kq_window& win = wins[i];
      VcpuState& s = *states[i];
      const Split& sp = splits[i];
      // One entry per CPU it ran on, split as the module split it.
      kq_ledger_entry e[KQ_RAN_SLOTS];
      const unsigned m = kq_ledger_split(e, static_cast<s32>(v.cpu.value_or(0)), win.run_ns,
                                         win.wait_ns, win.halt_ns, weights[i], s.st.debt_ns,
                                         s.h.windows != 0, sp.cpus, sp.ns, sp.n);
      ledger.insert(ledger.end(), e, e + m);
      entries.push_back(m);
    }
    kq_ledger_window(ledger.data(), static_cast<unsigned>(ledger.size()));
    for (size_t i = 0, first = 0; i < w.vcpus.size(); first += entries[i], ++i) {
      const auto& v = w.vcpus[i];
      const kq_vm_policy& vp = policies.at(v.vm_id);
      VcpuState& s = *states[i];
      const kq_window& win = wins[i];
      s.st.debt_ns = kq_ledger_join(&ledger[first], entries[i]);
      kq_policy_window(&used, &vp, &s.st, &win, &s.h);
      kq_history_add(&s.h, &win);

      ReplayVm& vm = r.vms[v.vm_id];
      ReplayVcpu& rv = vm.vcpus[v.vcpu_idx];
      rv.vcpu = v.vcpu_idx;
      rv.tid = v.tid;
      ++rv.windows;
      rv.target_ns_sum += s.st.target_ns;
      rv.run_ns += win.run_ns;
      rv.slices += win.slices;
      rv.debt_ns = s.st.debt_ns;
      rv.group_shift_pct_sum += s.st.group_shift_pct;
      rv.group_pct = s.st.group_pct;
      const char* reason = kq_reason_name(s.st.reason);
      auto& rs = rv.by_reason[reason ? reason : "?"];
      ++rs.windows;
      rs.target_ns_sum += s.st.target_ns;
      vm.run_ns += win.run_ns;
      r.run_ns += win.run_ns;
    }
  }
  return r;
}

ordered_json ReplayJson(const ReplayResult& r) {
  ordered_json j;
  j["windows"] = r.windows;
  j["params"] = r.params;
  uint64_t weights = 0;
  for (const auto& [id, vm] : r.vms) weights += vm.policy.at("weight");
  j["vms"] = ordered_json::array();
  for (const auto& [id, vm] : r.vms) {
    ordered_json o;
    o["vm"] = vm.vm;
    o["pid"] = vm.pid;
    o["vm_id"] = vm.vm_id;
    o["policy"] = vm.policy;
    o["run_ns"] = vm.run_ns;
    o["run_share"] = r.run_ns ? static_cast<double>(vm.run_ns) / r.run_ns : 0.0;
    o["weight_share"] = weights ? static_cast<double>(vm.policy.at("weight")) / weights : 0.0;
    int64_t ledger = 0;
    o["vcpus"] = ordered_json::array();
    for (const auto& [idx, v] : vm.vcpus) {
      ordered_json c;
      c["vcpu"] = v.vcpu;
      c["tid"] = v.tid;
      c["windows"] = v.windows;
      c["mean_target_ns"] = v.windows ? v.target_ns_sum / v.windows : 0;
      c["mean_achieved_ns"] = v.slices ? ordered_json(v.run_ns / v.slices) : ordered_json(nullptr);
      c["debt_ns"] = v.debt_ns;
      c["mean_group_shift_pct"] =
          v.windows ? static_cast<double>(v.group_shift_pct_sum) / static_cast<double>(v.windows)
                    : 0.0;
      c["group_lasting_pct"] = v.group_pct;
      ordered_json by = ordered_json::object();
      // In enum order.
      for (const char* name : ReasonNames()) {
        auto it = v.by_reason.find(name);
        if (it == v.by_reason.end()) continue;
        by[name] = {{"windows", it->second.windows},
                    {"mean_target_ns", it->second.target_ns_sum / it->second.windows}};
      }
      c["by_reason"] = by;
      ledger += v.debt_ns;
      o["vcpus"].push_back(c);
    }
    o["ledger_ns"] = ledger;
    j["vms"].push_back(o);
  }
  return j;
}

std::string FormatReplay(const ReplayResult& r) {
  const ordered_json j = ReplayJson(r);
  std::string out = "replay: " + std::to_string(r.windows) + " windows, " +
                    std::to_string(r.vms.size()) + " VMs (what the policy would have decided)\n";
  char b[256];
  for (const auto& vm : j["vms"]) {
    std::snprintf(b, sizeof(b),
                  "VM %s  quanta %llu/%llu/%llu us  weight %llu (%.1f%%)  run share %.1f%%  "
                  "ledger %s\n",
                  vm["vm"].get<std::string>().c_str(),
                  static_cast<unsigned long long>(vm["policy"]["min_quantum_us"].get<uint64_t>()),
                  static_cast<unsigned long long>(vm["policy"]["base_quantum_us"].get<uint64_t>()),
                  static_cast<unsigned long long>(vm["policy"]["max_quantum_us"].get<uint64_t>()),
                  static_cast<unsigned long long>(vm["policy"]["weight"].get<uint64_t>()),
                  vm["weight_share"].get<double>() * 100, vm["run_share"].get<double>() * 100,
                  Ms(static_cast<double>(vm["ledger_ns"].get<int64_t>()), true).c_str());
    out += b;
    const uint64_t group = vm["policy"]["group"].get<uint64_t>();
    if (group) out.insert(out.size() - 1, "  group " + std::to_string(group));
    for (const auto& c : vm["vcpus"]) {
      const std::string achieved =
          c["mean_achieved_ns"].is_null()
              ? std::string("-")
              : Ms(static_cast<double>(c["mean_achieved_ns"].get<uint64_t>()));
      std::snprintf(
          b, sizeof(b), "  vCPU %u tid %u: %llu windows, mean target %s vs achieved %s, debt %s\n",
          c["vcpu"].get<unsigned>(), c["tid"].get<unsigned>(),
          static_cast<unsigned long long>(c["windows"].get<uint64_t>()),
          Ms(static_cast<double>(c["mean_target_ns"].get<uint64_t>())).c_str(), achieved.c_str(),
          Ms(static_cast<double>(c["debt_ns"].get<int64_t>()), true).c_str());
      out += b;
      if (group) {
        std::snprintf(b, sizeof(b), "    group shift: mean %+.1f%%, lasting %+d%% at the end\n",
                      c["mean_group_shift_pct"].get<double>(), c["group_lasting_pct"].get<int>());
        out += b;
      }
      std::string reasons = "    targets by reason:";
      bool first = true;
      for (const auto& [name, rs] : c["by_reason"].items()) {
        reasons += std::string(first ? " " : ", ") + name + " " +
                   std::to_string(rs["windows"].get<uint64_t>()) + " x " +
                   Ms(static_cast<double>(rs["mean_target_ns"].get<uint64_t>()));
        first = false;
      }
      out += reasons + "\n";
    }
  }
  return out;
}

}  // namespace kq::ctl
