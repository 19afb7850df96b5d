// SPDX-License-Identifier: GPL-2.0
// /sys/kernel/kvm_quanta (or a fake root for tests) for quantad and
// quantactl: VMs, their vCPUs and their policy state, the whole tree of one
// VM, and the one writer of policy knobs (knobs.hpp) with rollback.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "knobs.hpp"
#include "names.hpp"

namespace kq {

inline constexpr const char* kDefaultSysfsRoot = "/sys/kernel/kvm_quanta";

struct VmDir {
  std::string dir;  // "<pid>-<id>"
  uint32_t pid = 0;
  uint64_t vm_id = 0;
};

// "123-4" -> {dir, 123, 4}; nullopt if not of that form.
std::optional<VmDir> ParseVmDir(const std::string& dir);

// The policy/ directory of a VM, relative to the root.
std::string VmPolicyDir(const VmDir& vm);
// Host-wide policy parameters, relative to the root.
inline constexpr const char* kHostPolicyDir = "policy";

class Sysfs {
 public:
  explicit Sysfs(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  // VMs in vms/, sorted by pid then id.
  std::vector<VmDir> ListVms() const;
  // A VM given as "<pid>-<id>", as a pid with exactly one VM, or (with
  // name_of) as the name name_of gives exactly one VM.  The "<pid>-<id>"
  // form wins over a name that looks like it.  On failure *error says why
  // (no such VM; a pid or name with several VMs lists them).
  std::optional<VmDir> ResolveVm(
      const std::string& arg, std::string* error,
      const std::function<std::string(const VmDir&)>& name_of = nullptr) const;
  // vCPU indices of a VM, sorted.
  std::vector<uint32_t> VcpuIndices(const VmDir& vm) const;

  bool Exists(const std::string& rel) const;
  // File contents without the trailing newline; nullopt if unreadable.
  std::optional<std::string> Read(const std::string& rel) const;
  // Writes value; returns 0 or the errno of the open or write.
  int Write(const std::string& rel, const std::string& value) const;

  // Everything under vms/<vm>/ as JSON: directories are objects, files
  // values: integers as numbers, "none" as null, files of "<name> <number>"
  // lines as objects, anything else as a string.
  nlohmann::ordered_json VmTree(const VmDir& vm) const;

  // Reads rel_dir/<knob> for every spec (decimal numbers).
  std::optional<KnobValues> ReadKnobs(const std::string& rel_dir,
                                      const std::vector<KnobSpec>& specs, std::string* error) const;
  KnobWriter Writer(const std::string& rel_dir) const;

  // The one policy writer.  Reads rel_dir's knobs (specs), checks that
  // the result of changes holds min <= base <= max (when specs has them),
  // then writes only what differs, in PlanWrites' order, all or nothing
  // (ApplyWrites).  nullopt and *error when the knobs cannot be read or
  // the result is invalid (nothing written); otherwise what was done.
  struct Update {
    KnobValues before, after;
    std::vector<kq::Write> plan;
    ApplyResult result;
  };
  // *invalid (if given) tells the second case from the first.
  std::optional<Update> UpdateKnobs(const std::string& rel_dir, const std::vector<KnobSpec>& specs,
                                    const KnobValues& changes, std::string* error,
                                    bool* invalid = nullptr) const;

  // The policy's state of one vCPU (vms/<vm>/vcpus/<idx>/: target_quantum_us,
  // reason, debt_us, decisions, group_shift_pct); each absent when the
  // module has no such file (or it does not read as one).
  struct VcpuPolicy {
    std::optional<uint64_t> target_ns;
    std::optional<uint32_t> reason;
    std::optional<int64_t> debt_ns;
    std::optional<std::array<uint64_t, kReasons>> decisions;
    // group_shift_pct, "<applied> <lasting>": the shift of its weight
    // within its VM's group in the last window, and the lasting part of
    // it, percent (0 0 while its VM is in no group).
    std::optional<int32_t> group_shift_pct;
    std::optional<int32_t> group_lasting_pct;
  };
  VcpuPolicy ReadVcpuPolicy(const VmDir& vm, uint32_t idx) const;

 private:
  std::string root_;
};

// Value of a sysfs file as JSON (see VmTree).
nlohmann::ordered_json SysfsValue(const std::string& text);

// Reads "<name> <count>" lines; nullopt if any line is not of that form.
std::optional<std::map<std::string, uint64_t>> ParseNameCounts(const std::string& text);

}  // namespace kq
