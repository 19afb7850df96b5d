// SPDX-License-Identifier: GPL-2.0
// quantad's configuration: a TOML file with [daemon] settings, [host]
// host-wide policy parameters (the module's policy/), [defaults] per-VM
// policy and [[vm]] overrides matched by name (exact or fnmatch glob), with
// the group (by name) each [[vm]] puts its VMs in.
// Everything is validated; errors are reported as "FILE:LINE: reason".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "knobs.hpp"

namespace kq::quantad {

// The keys a [defaults] table or a [[vm]] entry sets.
struct PolicyOverride {
  std::optional<bool> enabled;
  std::optional<uint32_t> min_quantum_us;
  std::optional<uint32_t> base_quantum_us;
  std::optional<uint32_t> max_quantum_us;
  std::optional<uint32_t> weight;
  // The number of the [[vm]]'s group (Config::groups), never in [defaults].
  std::optional<uint32_t> group;
  Policy MergedOnto(Policy base) const;
};

struct VmRule {
  std::string name;  // exact name or fnmatch(3) pattern
  bool glob = false;
  PolicyOverride policy;
  std::string group;  // its group's name, "" for none
  int line = 0;
};

// A group name: 1..kGroupNameMax characters of [A-Za-z0-9._-].
inline constexpr size_t kGroupNameMax = 64;
// Why name is not a valid group name; nullopt when it is.
std::optional<std::string> GroupNameError(std::string_view name);
// The number a group name takes when no other name took it first: its
// 32-bit FNV-1a hash, folded into 1..kGroupMax.
uint32_t GroupHome(std::string_view name);

struct DaemonSettings {
  std::string metrics_listen = "127.0.0.1:9477";
  bool metrics_allow_remote = false;
  std::string database = "/var/lib/kvm-quanta/quantad.db";
  std::optional<std::string> mode;  // "observe" | "enforce"; unset: leave alone
  uint32_t summary_interval_s = 60;
  uint32_t persist_interval_s = 60;
  uint32_t history_max_pct = 20;       // 0 disables the history adjustment
  uint64_t history_min_windows = 600;  // vCPU windows before history counts
  bool bpf = true;                     // measure achieved quanta with bpf/vcpu_quanta when allowed
};

struct Config {
  std::string path;  // where it was read from ("" for built-in defaults)
  DaemonSettings daemon;
  // [host]: the module's host-wide parameters (policy/<name>, HostParams())
  // to set, each within the module's range; those not given are left alone.
  KnobValues host;
  Policy defaults;
  std::vector<VmRule> vms;
  // The group names of the [[vm]] entries, sorted, each once.
  std::vector<std::string> groups;
  // Each name's number (the VM knob group, 1..kGroupMax; 0 is none): its
  // GroupHome(), or the next free number after it when a name that sorts
  // before it took that one.  A name's number depends only on the names
  // whose homes it meets, not on the order of the file: adding or removing
  // a name leaves the others' numbers alone but in such a collision.
  std::map<uint32_t, std::string> group_names;
  // The name of group number n; "" for 0 or a number with no name.
  std::string GroupName(uint32_t n) const;

  // The policy for a VM: the first [[vm]] whose name equals it, else the
  // first whose glob matches it (file order), else [defaults].  *rule gets
  // the matching entry's name ("" for defaults).
  Policy PolicyFor(std::string_view vm_name, std::string* rule = nullptr) const;
};

struct ListenAddress {
  std::string host;  // without brackets
  uint16_t port = 0;
  bool loopback = false;
};
// "HOST:PORT" or "[V6]:PORT"; HOST an IP literal or "localhost".
std::optional<ListenAddress> ParseListen(std::string_view s, std::string* error);

// Why listen (the effective metrics address, e.g. from --listen) is not
// allowed by c: not an address, or not loopback without
// metrics_allow_remote; nullopt when it is allowed.
std::optional<std::string> RemoteListenError(const std::string& listen, const Config& c);

// Parses TOML text; path is only used in messages.  On error returns
// nullopt and *error is "PATH:LINE: reason".
std::optional<Config> ParseConfig(std::string_view text, const std::string& path,
                                  std::string* error);
// Reads and parses a regular file ("PATH: reason" when it cannot be read).
// An empty file (no tables, no keys) is an error: write an empty
// [defaults] to mean the built-in defaults.
std::optional<Config> LoadConfig(const std::string& path, std::string* error);

}  // namespace kq::quantad
