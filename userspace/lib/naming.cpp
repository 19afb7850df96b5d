// SPDX-License-Identifier: GPL-2.0
#include "naming.hpp"

#include <fstream>
#include <sstream>

namespace kq {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// QEMU option syntax: "a=b,c=d"; ",," is a literal comma.
std::vector<std::string> SplitOpts(std::string_view s) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',') {
      if (i + 1 < s.size() && s[i + 1] == ',') {
        out.back() += ',';
        ++i;
      } else {
        out.emplace_back();
      }
    } else {
      out.back() += s[i];
    }
  }
  return out;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> NameFromQemuArgs(const std::vector<std::string>& argv) {
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string_view a = argv[i];
    std::string value;
    if (a == "-name" || a == "--name") {
      if (i + 1 >= argv.size()) return std::nullopt;
      value = argv[i + 1];
    } else if (a.rfind("-name=", 0) == 0 || a.rfind("--name=", 0) == 0) {
      value = std::string(a.substr(a.find('=') + 1));
    } else {
      continue;
    }
    const std::vector<std::string> opts = SplitOpts(value);
    for (const std::string& o : opts)
      if (o.rfind("guest=", 0) == 0 && o.size() > 6) return o.substr(6);
    // Legacy "-name NAME[,process=...]": the first item, if not key=value.
    if (!opts.empty() && !opts[0].empty() && opts[0].find('=') == std::string::npos) return opts[0];
    return std::nullopt;
  }
  return std::nullopt;
}

std::string SystemdUnescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x' && HexVal(s[i + 2]) >= 0 &&
        HexVal(s[i + 3]) >= 0) {
      out += static_cast<char>(HexVal(s[i + 2]) * 16 + HexVal(s[i + 3]));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::string> NameFromCgroup(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    // "ID:CONTROLLERS:PATH"
    const size_t c1 = line.find(':');
    const size_t c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string::npos) continue;
    std::istringstream path(line.substr(c2 + 1));
    std::string comp;
    while (std::getline(path, comp, '/')) {
      constexpr std::string_view kSuffix = ".scope";
      if (comp.size() <= kSuffix.size() ||
          comp.compare(comp.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
        continue;
      const std::string unit = SystemdUnescape(comp.substr(0, comp.size() - kSuffix.size()));
      // machine-qemu-<N>-<NAME> (libvirt), also machine-<NAME> (systemd-machined).
      constexpr std::string_view kQemu = "machine-qemu-";
      if (unit.rfind(kQemu, 0) == 0) {
        size_t i = kQemu.size();
        const size_t digits = i;
        while (i < unit.size() && unit[i] >= '0' && unit[i] <= '9') ++i;
        if (i > digits && i + 1 < unit.size() && unit[i] == '-') return unit.substr(i + 1);
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> VmNameOf(const std::string& proc_root, uint32_t pid) {
  const std::string dir = proc_root + "/" + std::to_string(pid);
  if (auto cmdline = ReadFile(dir + "/cmdline")) {
    std::vector<std::string> argv;
    std::string cur;
    for (char c : *cmdline) {
      if (c == '\0') {
        argv.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) argv.push_back(cur);
    if (auto n = NameFromQemuArgs(argv)) return *n;
  }
  if (auto cg = ReadFile(dir + "/cgroup"))
    if (auto n = NameFromCgroup(*cg)) return *n;
  return std::nullopt;
}

std::string UnnamedVmName(uint32_t pid) { return "pid-" + std::to_string(pid); }

std::string VmName(const std::string& proc_root, uint32_t pid) {
  return VmNameOf(proc_root, pid).value_or(UnnamedVmName(pid));
}

}  // namespace kq
