// SPDX-License-Identifier: GPL-2.0
// quantactl's view of /sys/kernel/kvm_quanta (or a fake root for tests):
// VMs, their vCPUs and policy, and the whole tree of one VM.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kq::ctl {

inline constexpr const char* kDefaultSysfsRoot = "/sys/kernel/kvm_quanta";

struct VmName {
  std::string dir;  // "<pid>-<id>"
  uint32_t pid = 0;
  uint64_t vm_id = 0;
};

// "123-4" -> {dir, 123, 4}; nullopt if not of that form.
std::optional<VmName> ParseVmDir(const std::string& dir);

class Sysfs {
 public:
  explicit Sysfs(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  // VMs in vms/, sorted by pid then id.
  std::vector<VmName> ListVms() const;
  // A VM given as "<pid>-<id>" or as a pid with exactly one VM.  On failure
  // *error says why (no such VM; a pid with several VMs lists them).
  std::optional<VmName> ResolveVm(const std::string& arg, std::string* error) const;
  // vCPU indices of a VM, sorted.
  std::vector<uint32_t> VcpuIndices(const VmName& vm) const;

  // File contents without the trailing newline; nullopt if unreadable.
  std::optional<std::string> Read(const std::string& rel) const;
  // Writes value; returns 0 or the errno of the open or write.
  int Write(const std::string& rel, const std::string& value) const;

  // Everything under vms/<vm>/ as JSON: directories are objects, files
  // values: integers as numbers, "none" as null, files of "<name> <number>"
  // lines as objects, anything else as a string.
  nlohmann::ordered_json VmTree(const VmName& vm) const;

 private:
  std::string root_;
};

// Value of a sysfs file as JSON (see VmTree).
nlohmann::ordered_json SysfsValue(const std::string& text);

// Reads "<name> <count>" lines; nullopt if any line is not of that form.
std::optional<std::map<std::string, uint64_t>> ParseNameCounts(const std::string& text);

}  // namespace kq::ctl
