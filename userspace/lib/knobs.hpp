// SPDX-License-Identifier: GPL-2.0
// The module's policy knobs: per VM (vms/<vm>/policy/) and host-wide
// (policy/); their ranges; validation of "key=value"; a write order that
// keeps min <= base <= max at every step; all-or-nothing application with
// rollback.  quantad and quantactl both write through this.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct kq_policy_params;  // src/core/policy.h

namespace kq {

// Ranges of the per-VM knobs, from src/core/policy.h (the module's own).
extern const int64_t kQuantumMinUs, kQuantumMaxUs, kWeightMin, kWeightMax, kGroupMax;

// One VM's complete policy, as written to sysfs.
struct Policy {
  bool enabled = true;
  uint32_t min_quantum_us = 1000;
  uint32_t base_quantum_us = 4000;
  uint32_t max_quantum_us = 8000;
  uint32_t weight = 100;
  // 0: in no group; else the group of interchangeable VMs it is in,
  // 1..kGroupMax (struct kq_vm_policy.group).
  uint32_t group = 0;
  bool operator==(const Policy&) const = default;
};

struct KnobSpec {
  const char* name;
  uint64_t lo;
  uint64_t hi;
};

// enabled, min_quantum_us, base_quantum_us, max_quantum_us, weight, group.
const std::vector<KnobSpec>& VmKnobs();
// The host-wide parameters (policy/ at the sysfs root): every field of
// struct kq_policy_params, within its range in src/core/policy.h (from 0
// to its maximum, but for warm_pct and flush_pct).
const std::vector<KnobSpec>& HostParams();
const KnobSpec* FindKnob(const std::vector<KnobSpec>& specs, const std::string& name);
// "name lo..hi, ..." for help texts.
std::string KnobRanges(const std::vector<KnobSpec>& specs);

using KnobValues = std::map<std::string, uint64_t>;

// The VM knobs of a policy (enabled as 0/1).
KnobValues PolicyKnobs(const Policy& p);

// The host parameters of p, by name; and one of them set (false: no such
// parameter).  The value is not range-checked here (ParseAssignments does).
KnobValues HostParamValues(const kq_policy_params& p);
bool SetHostParam(kq_policy_params* p, const std::string& name, uint64_t value);

// Parses "key=value" assignments against specs: known keys, decimal values
// in range, each key once.  On failure *error is a message for the user.
std::optional<KnobValues> ParseAssignments(const std::vector<std::string>& args,
                                           const std::vector<KnobSpec>& specs, std::string* error);

// min <= base <= max for the VM knobs in v (all three must be present).
bool QuantaOrdered(const KnobValues& v, std::string* error);

struct Write {
  std::string key;
  uint64_t value;
};

// The writes that take cur to cur+changes, ordered so that every prefix
// keeps min <= base <= max (if cur and the result both do): lower min and
// raise max first, then base, then raise min and lower max; every other key
// after, in name order.  Keys whose value does not change are left out.
std::vector<Write> PlanWrites(const KnobValues& cur, const KnobValues& changes);

// Where knob writes go: sysfs policy/ of one VM, or a fake in tests.
// Write returns 0 or an errno.
using KnobWriter = std::function<int(const std::string& key, uint64_t value)>;

struct ApplyResult {
  bool ok = true;
  std::string failed_key;  // the write that failed
  int error = 0;           // its errno
  size_t written = 0;      // writes that succeeded before it
  size_t restored = 0;     // of those, rolled back
  std::vector<std::string> restore_failed;
};

// Performs plan in order; on the first failure writes the old values of
// the keys already written back in reverse order.
ApplyResult ApplyWrites(const std::vector<Write>& plan, const KnobValues& cur,
                        const KnobWriter& write);

// "writing KEY failed: ERR; restored the N value(s) already written,
// nothing changed" or "...; could not restore: KEY=OLD ...".
std::string DescribeFailure(const ApplyResult& r, const KnobValues& cur);

}  // namespace kq
