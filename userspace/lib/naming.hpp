// SPDX-License-Identifier: GPL-2.0
// Names a VM the way operators know it, from its VMM process: QEMU's
// "-name guest=NAME,..." or "-name NAME" in /proc/<pid>/cmdline, else the
// libvirt domain of its systemd machine scope in /proc/<pid>/cgroup
// ("machine-qemu\x2d3\x2dNAME.scope"), else "pid-<pid>".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kq {

// The guest name from a QEMU command line (argv), if it has -name.
std::optional<std::string> NameFromQemuArgs(const std::vector<std::string>& argv);
// The libvirt domain name from /proc/<pid>/cgroup text, if in a machine scope.
std::optional<std::string> NameFromCgroup(std::string_view cgroup_text);
// Undoes systemd's unit name escaping (\xNN).
std::string SystemdUnescape(std::string_view s);
// The name of the VM run by pid, reading proc_root/<pid>/{cmdline,cgroup};
// nullopt when neither names it.
std::optional<std::string> VmNameOf(const std::string& proc_root, uint32_t pid);
// "pid-<pid>", the name of an unnamed VM.
std::string UnnamedVmName(uint32_t pid);
// VmNameOf, else UnnamedVmName.
std::string VmName(const std::string& proc_root, uint32_t pid);

}  // namespace kq
