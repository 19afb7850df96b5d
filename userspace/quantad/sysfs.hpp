// SPDX-License-Identifier: GPL-2.0
// quantad's view of /sys/kernel/kvm_quanta: the VMs, the per-VM policy
// knobs (written in an order that keeps min <= base <= max at every step),
// the per-vCPU policy state and the global mode.
#pragma once

#include <linux/kvm_quanta.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"

namespace kq::quantad {

inline constexpr size_t kReasons = KVM_QUANTA_R_NR;
// Index = enum kvm_quanta_reason; the sysfs and tracepoint spellings.
extern const std::array<const char*, kReasons> kReasonNames;
std::optional<uint32_t> ReasonFromName(const std::string& name);

struct SysfsVm {
  std::string dir;  // "<pid>-<id>"
  uint32_t pid = 0;
  uint64_t id = 0;
};

// The VM directories under root/vms ("<pid>-<id>"); empty if none or absent.
std::vector<SysfsVm> ListVms(const std::string& root);

// One knob write done (or failed) by ApplyPolicy.
struct KnobWrite {
  std::string knob;
  std::optional<int64_t> old_value;  // nullopt: could not be read
  int64_t new_value = 0;
  int err = 0;  // errno, 0 on success
};

struct ApplyResult {
  bool knobs_present = true;  // false: no policy/ directory (module without it)
  std::vector<KnobWrite> writes;
};

// Writes the policy to vm_dir/policy/ (vm_dir = root/vms/<pid>-<id>): only the
// knobs whose current value differs (or cannot be read), in an order that
// keeps min <= base <= max after every write (widen first, then base, then
// narrow).  A failed write is recorded and the others still tried.
ApplyResult ApplyPolicy(const std::string& vm_dir, const Policy& p);

// Per-vCPU policy state (read-only files of vm_dir/vcpus/<idx>/); fields
// are absent when the module does not have them.
struct VcpuPolicyState {
  std::optional<uint64_t> target_ns;
  std::optional<uint32_t> reason;
  std::optional<int64_t> debt_ns;
  std::optional<std::array<uint64_t, kReasons>> decisions;
};
VcpuPolicyState ReadVcpuPolicyState(const std::string& vm_dir, uint32_t idx);
std::vector<uint32_t> ListVcpus(const std::string& vm_dir);

// Reads a whole small file; nullopt if it cannot be read.
std::optional<std::string> ReadSmallFile(const std::string& path);
// Writes "value\n"; returns 0 or errno.
int WriteKnob(const std::string& path, const std::string& value);

}  // namespace kq::quantad
