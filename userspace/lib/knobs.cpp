// SPDX-License-Identifier: GPL-2.0
#include "knobs.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

extern "C" {
#include "policy.h"
}

namespace kq {

const int64_t kQuantumMinUs = KQ_QUANTUM_MIN_US, kQuantumMaxUs = KQ_QUANTUM_MAX_US,
              kWeightMin = KQ_WEIGHT_MIN, kWeightMax = KQ_WEIGHT_MAX, kGroupMax = KQ_GROUP_MAX;

const std::vector<KnobSpec>& VmKnobs() {
  static const std::vector<KnobSpec> k = {
      {"enabled", 0, 1},
      {"min_quantum_us", KQ_QUANTUM_MIN_US, KQ_QUANTUM_MAX_US},
      {"base_quantum_us", KQ_QUANTUM_MIN_US, KQ_QUANTUM_MAX_US},
      {"max_quantum_us", KQ_QUANTUM_MIN_US, KQ_QUANTUM_MAX_US},
      {"weight", KQ_WEIGHT_MIN, KQ_WEIGHT_MAX},
      {"group", 0, KQ_GROUP_MAX},
  };
  return k;
}

KnobValues PolicyKnobs(const Policy& p) {
  return {{"enabled", p.enabled ? 1 : 0},
          {"min_quantum_us", p.min_quantum_us},
          {"base_quantum_us", p.base_quantum_us},
          {"max_quantum_us", p.max_quantum_us},
          {"weight", p.weight},
          {"group", p.group}};
}

namespace {

// The host parameters: name (policy/<name>), range (src/core/policy.h, the
// module's own: from 0 but for the percentiles), and where the value lives
// in kq_policy_params.
struct ParamField {
  KnobSpec spec;
  size_t offset;
  size_t size;  // 4 or 8
};

#define KQ_PARAM_RANGE(field, min, max)                                                    \
  ParamField {                                                                             \
    {#field, min, max}, offsetof(kq_policy_params, field), sizeof(kq_policy_params::field) \
  }
#define KQ_PARAM_FIELD(field, max) KQ_PARAM_RANGE(field, 0, max)

const std::vector<ParamField>& ParamFields() {
  static const std::vector<ParamField> f = {
      KQ_PARAM_FIELD(warm_ipc_milli, KQ_PARAM_IPC_MILLI_MAX),
      KQ_PARAM_FIELD(warm_llc_mpki_milli, KQ_PARAM_MPKI_MILLI_MAX),
      KQ_PARAM_FIELD(warm_br_mpki_milli, KQ_PARAM_MPKI_MILLI_MAX),
      KQ_PARAM_FIELD(warm_exit_rate_milli, KQ_PARAM_RATE_MILLI_MAX),
      KQ_PARAM_FIELD(heavy_exit_rate_milli, KQ_PARAM_RATE_MILLI_MAX),
      KQ_PARAM_FIELD(flush_llc_mpki_milli, KQ_PARAM_MPKI_MILLI_MAX),
      KQ_PARAM_FIELD(phase_drop_pct, KQ_PARAM_PCT_MAX),
      KQ_PARAM_FIELD(idle_halt_pct, KQ_PARAM_PCT_MAX),
      KQ_PARAM_FIELD(history_max_pct, KQ_PARAM_PCT_MAX),
      KQ_PARAM_FIELD(debt_max_us, KQ_PARAM_DEBT_US_MAX),
      KQ_PARAM_FIELD(spin_ple_rate_milli, KQ_PARAM_RATE_MILLI_MAX),
      KQ_PARAM_FIELD(latency_burst_us, KQ_PARAM_BURST_US_MAX),
      KQ_PARAM_FIELD(latency_boost, KQ_PARAM_BOOST_MAX),
      KQ_PARAM_FIELD(ratelimit_us, KQ_PARAM_RATELIMIT_US_MAX),
      KQ_PARAM_FIELD(flush_burst_pct, KQ_PARAM_BURST_PCT_MAX),
      KQ_PARAM_FIELD(host_thresholds, KQ_PARAM_SWITCH_MAX),
      KQ_PARAM_RANGE(warm_pct, KQ_PARAM_WARM_PCT_MIN, KQ_PARAM_WARM_PCT_MAX),
      KQ_PARAM_RANGE(flush_pct, KQ_PARAM_FLUSH_PCT_MIN, KQ_PARAM_FLUSH_PCT_MAX),
      KQ_PARAM_FIELD(group_shift_pct, KQ_PARAM_GROUP_SHIFT_PCT_MAX),
      KQ_PARAM_FIELD(smt_hungry_pct, KQ_PARAM_PCT_MAX),
  };
  return f;
}

#undef KQ_PARAM_FIELD
#undef KQ_PARAM_RANGE

}  // namespace

const std::vector<KnobSpec>& HostParams() {
  static const std::vector<KnobSpec> k = [] {
    std::vector<KnobSpec> v;
    for (const ParamField& f : ParamFields()) v.push_back(f.spec);
    return v;
  }();
  return k;
}

KnobValues HostParamValues(const kq_policy_params& p) {
  KnobValues out;
  for (const ParamField& f : ParamFields()) {
    const char* at = reinterpret_cast<const char*>(&p) + f.offset;
    uint64_t v64 = 0;
    uint32_t v32 = 0;
    if (f.size == sizeof(v64)) {
      std::memcpy(&v64, at, sizeof(v64));
      out[f.spec.name] = v64;
    } else {
      std::memcpy(&v32, at, sizeof(v32));
      out[f.spec.name] = v32;
    }
  }
  return out;
}

bool SetHostParam(kq_policy_params* p, const std::string& name, uint64_t value) {
  for (const ParamField& f : ParamFields()) {
    if (name != f.spec.name) continue;
    char* at = reinterpret_cast<char*>(p) + f.offset;
    const auto v32 = static_cast<uint32_t>(value);
    if (f.size == sizeof(value))
      std::memcpy(at, &value, sizeof(value));
    else
      std::memcpy(at, &v32, sizeof(v32));
    return true;
  }
  return false;
}

const KnobSpec* FindKnob(const std::vector<KnobSpec>& specs, const std::string& name) {
  for (const auto& s : specs) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

std::string KnobRanges(const std::vector<KnobSpec>& specs) {
  std::string out;
  for (const auto& s : specs)
    out += (out.empty() ? "" : ", ") + std::string(s.name) + " " + std::to_string(s.lo) + ".." +
           std::to_string(s.hi);
  return out;
}

namespace {

std::string KnownKeys(const std::vector<KnobSpec>& specs) {
  std::string out;
  for (const auto& s : specs) out += (out.empty() ? "" : ", ") + std::string(s.name);
  return out;
}

}  // namespace

std::optional<KnobValues> ParseAssignments(const std::vector<std::string>& args,
                                           const std::vector<KnobSpec>& specs, std::string* error) {
  KnobValues out;
  if (args.empty()) {
    *error = "nothing to set: give key=value (keys: " + KnownKeys(specs) + ")";
    return std::nullopt;
  }
  for (const auto& a : args) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      *error = "'" + a + "': expected key=value";
      return std::nullopt;
    }
    const std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    const KnobSpec* spec = FindKnob(specs, key);
    if (!spec) {
      *error = "unknown key '" + key + "' (keys: " + KnownKeys(specs) + ")";
      return std::nullopt;
    }
    if (out.count(key)) {
      *error = key + " given twice";
      return std::nullopt;
    }
    if (value.empty() || value.size() > 19 ||
        value.find_first_not_of("0123456789") != std::string::npos) {
      *error = key + "=" + value + ": not a decimal number (allowed " + std::to_string(spec->lo) +
               ".." + std::to_string(spec->hi) + ")";
      return std::nullopt;
    }
    const uint64_t v = std::stoull(value);
    if (v < spec->lo || v > spec->hi) {
      *error = key + "=" + value + ": out of range " + std::to_string(spec->lo) + ".." +
               std::to_string(spec->hi);
      return std::nullopt;
    }
    out[key] = v;
  }
  return out;
}

bool QuantaOrdered(const KnobValues& v, std::string* error) {
  const uint64_t mn = v.at("min_quantum_us"), b = v.at("base_quantum_us"),
                 mx = v.at("max_quantum_us");
  if (mn <= b && b <= mx) return true;
  *error = "min_quantum_us <= base_quantum_us <= max_quantum_us must hold, would be " +
           std::to_string(mn) + ", " + std::to_string(b) + ", " + std::to_string(mx);
  return false;
}

std::vector<Write> PlanWrites(const KnobValues& cur, const KnobValues& changes) {
  std::vector<Write> plan;
  auto changed = [&](const char* k) -> std::optional<uint64_t> {
    auto it = changes.find(k);
    if (it == changes.end()) return std::nullopt;
    auto c = cur.find(k);
    if (c != cur.end() && c->second == it->second) return std::nullopt;
    return it->second;
  };
  auto old = [&](const char* k) {
    auto c = cur.find(k);
    return c == cur.end() ? uint64_t{0} : c->second;
  };
  const auto mn = changed("min_quantum_us"), b = changed("base_quantum_us"),
             mx = changed("max_quantum_us");
  if (mn && *mn < old("min_quantum_us")) plan.push_back({"min_quantum_us", *mn});
  if (mx && *mx > old("max_quantum_us")) plan.push_back({"max_quantum_us", *mx});
  if (b) plan.push_back({"base_quantum_us", *b});
  if (mn && *mn > old("min_quantum_us")) plan.push_back({"min_quantum_us", *mn});
  if (mx && *mx < old("max_quantum_us")) plan.push_back({"max_quantum_us", *mx});
  for (const auto& [k, v] : changes) {
    if (k == "min_quantum_us" || k == "base_quantum_us" || k == "max_quantum_us") continue;
    if (changed(k.c_str())) plan.push_back({k, v});
  }
  return plan;
}

ApplyResult ApplyWrites(const std::vector<Write>& plan, const KnobValues& cur,
                        const KnobWriter& write) {
  ApplyResult r;
  for (const auto& w : plan) {
    if (int err = write(w.key, w.value); err != 0) {
      r.ok = false;
      r.failed_key = w.key;
      r.error = err;
      break;
    }
    ++r.written;
  }
  if (r.ok) return r;
  for (size_t i = r.written; i-- > 0;) {
    const auto& w = plan[i];
    auto it = cur.find(w.key);
    if (it == cur.end() || write(w.key, it->second) != 0) {
      r.restore_failed.push_back(w.key);
    } else {
      ++r.restored;
    }
  }
  return r;
}

std::string DescribeFailure(const ApplyResult& r, const KnobValues& cur) {
  std::string msg = "writing " + r.failed_key + " failed: " + std::strerror(r.error) + "; ";
  if (r.restore_failed.empty())
    return msg + (r.written ? "restored the " + std::to_string(r.restored) +
                                  " value(s) already written, nothing changed"
                            : "nothing changed");
  msg += "could not restore:";
  for (const auto& k : r.restore_failed) {
    auto it = cur.find(k);
    msg += " " + k + "=" + (it == cur.end() ? "?" : std::to_string(it->second));
  }
  return msg;
}

}  // namespace kq
