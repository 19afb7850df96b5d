// SPDX-License-Identifier: GPL-2.0
#include "sysfs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace kq {
namespace {

std::optional<uint64_t> ParseU64(const std::string& s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(s);
}

std::optional<int64_t> ParseS64(const std::string& s) {
  if (!s.empty() && s[0] == '-') {
    auto v = ParseU64(s.substr(1));
    if (!v || *v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return -static_cast<int64_t>(*v);
  }
  auto v = ParseU64(s);
  if (!v || *v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(*v);
}

nlohmann::ordered_json Tree(const fs::path& dir) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  std::vector<fs::directory_entry> entries;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) entries.push_back(e);
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  for (const auto& e : entries) {
    const std::string name = e.path().filename();
    if (e.is_directory(ec)) {
      out[name] = Tree(e.path());
    } else {
      std::ifstream f(e.path());
      if (!f) continue;  // write-only or gone
      std::stringstream ss;
      ss << f.rdbuf();
      std::string text = ss.str();
      while (!text.empty() && text.back() == '\n') text.pop_back();
      out[name] = SysfsValue(text);
    }
  }
  return out;
}

}  // namespace

std::optional<VmDir> ParseVmDir(const std::string& dir) {
  const size_t dash = dir.find('-');
  if (dash == std::string::npos) return std::nullopt;
  auto pid = ParseU64(dir.substr(0, dash));
  auto id = ParseU64(dir.substr(dash + 1));
  if (!pid || !id || *pid > UINT32_MAX) return std::nullopt;
  return VmDir{dir, static_cast<uint32_t>(*pid), *id};
}

std::optional<std::map<std::string, uint64_t>> ParseNameCounts(const std::string& text) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string name, count, extra;
    if (!(ls >> name >> count) || (ls >> extra)) return std::nullopt;
    auto v = ParseU64(count);
    // "12 10" and "-12 10" are two numbers, not a count named "-12".
    if (!v || ParseU64(name) || ParseS64(name)) return std::nullopt;
    out[name] = *v;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

nlohmann::ordered_json SysfsValue(const std::string& text) {
  if (text == "none") return nullptr;
  if (auto v = ParseS64(text)) return *v;
  if (auto v = ParseU64(text)) return *v;
  if (text.find('\n') != std::string::npos || text.find(' ') != std::string::npos) {
    if (auto m = ParseNameCounts(text)) {
      nlohmann::ordered_json o = nlohmann::ordered_json::object();
      // Keep the file's order.
      std::istringstream in(text);
      std::string name;
      uint64_t count;
      while (in >> name >> count) o[name] = count;
      return o;
    }
  }
  return text;
}

std::vector<VmDir> Sysfs::ListVms() const {
  std::vector<VmDir> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(root_) / "vms", ec)) {
    if (auto vm = ParseVmDir(e.path().filename())) out.push_back(*vm);
  }
  std::sort(out.begin(), out.end(), [](const VmDir& a, const VmDir& b) {
    return std::tie(a.pid, a.vm_id) < std::tie(b.pid, b.vm_id);
  });
  return out;
}

std::optional<VmDir> Sysfs::ResolveVm(
    const std::string& arg, std::string* error,
    const std::function<std::string(const VmDir&)>& name_of) const {
  std::error_code ec;
  if (!fs::is_directory(fs::path(root_) / "vms", ec)) {
    *error = "kvm_quanta is not loaded (no " + root_ + "/vms)";
    return std::nullopt;
  }
  const auto vms = ListVms();
  if (ParseVmDir(arg)) {
    for (const auto& vm : vms) {
      if (vm.dir == arg) return vm;
    }
    *error = "no VM " + arg + " in " + root_ + "/vms";
    return std::nullopt;
  }
  auto pid = ParseU64(arg);
  if (!pid && (!name_of || arg.empty())) {
    *error = "bad VM '" + arg + "': expected <pid>-<id> (as in " + root_ + "/vms) or a pid";
    return std::nullopt;
  }
  std::vector<VmDir> match;
  for (const auto& vm : vms) {
    if (pid ? vm.pid == *pid : name_of(vm) == arg) match.push_back(vm);
  }
  if (match.size() == 1) return match[0];
  const std::string what = pid ? "pid " + arg : "name \"" + arg + "\"";
  if (match.empty()) {
    *error = "no VM of " + what + " in " + root_ + "/vms";
  } else {
    *error = what + " has " + std::to_string(match.size()) + " VMs, name one:";
    for (const auto& vm : match) *error += " " + vm.dir;
  }
  return std::nullopt;
}

std::vector<uint32_t> Sysfs::VcpuIndices(const VmDir& vm) const {
  std::vector<uint32_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(root_) / "vms" / vm.dir / "vcpus", ec)) {
    if (auto v = ParseU64(e.path().filename()); v && *v <= UINT32_MAX) {
      out.push_back(static_cast<uint32_t>(*v));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> Sysfs::Read(const std::string& rel) const {
  std::ifstream f(fs::path(root_) / rel);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return std::nullopt;
  std::string s = ss.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

int Sysfs::Write(const std::string& rel, const std::string& value) const {
  const std::string path = (fs::path(root_) / rel).string();
  // O_TRUNC so that a fake (regular file) root reads back what was written.
  const int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return errno;
  const std::string text = value + "\n";
  const ssize_t n = write(fd, text.data(), text.size());
  const int err = n < 0 ? errno : (static_cast<size_t>(n) != text.size() ? EIO : 0);
  if (close(fd) != 0 && err == 0) return errno;
  return err;
}

nlohmann::ordered_json Sysfs::VmTree(const VmDir& vm) const {
  return Tree(fs::path(root_) / "vms" / vm.dir);
}

std::string VmPolicyDir(const VmDir& vm) { return "vms/" + vm.dir + "/policy"; }

bool Sysfs::Exists(const std::string& rel) const {
  std::error_code ec;
  return fs::exists(fs::path(root_) / rel, ec);
}

std::optional<KnobValues> Sysfs::ReadKnobs(const std::string& rel_dir,
                                           const std::vector<KnobSpec>& specs,
                                           std::string* error) const {
  KnobValues out;
  for (const auto& k : specs) {
    const std::string rel = rel_dir + "/" + k.name;
    auto text = Read(rel);
    auto v = text ? ParseU64(*text) : std::nullopt;
    if (!v) {
      *error = "cannot read " + root_ + "/" + rel +
               (text ? " ('" + *text + "')" : std::string(" (no such file: module too old?)"));
      return std::nullopt;
    }
    out[k.name] = *v;
  }
  return out;
}

KnobWriter Sysfs::Writer(const std::string& rel_dir) const {
  return [this, rel_dir](const std::string& key, uint64_t value) {
    return Write(rel_dir + "/" + key, std::to_string(value));
  };
}

std::optional<Sysfs::Update> Sysfs::UpdateKnobs(const std::string& rel_dir,
                                                const std::vector<KnobSpec>& specs,
                                                const KnobValues& changes, std::string* error,
                                                bool* invalid) const {
  Update u;
  auto cur = ReadKnobs(rel_dir, specs, error);
  if (!cur) return std::nullopt;
  u.before = *cur;
  u.after = *cur;
  for (const auto& [k, v] : changes) u.after[k] = v;
  if (u.after.count("min_quantum_us") && !QuantaOrdered(u.after, error)) {
    if (invalid) *invalid = true;
    return std::nullopt;
  }
  u.plan = PlanWrites(u.before, changes);
  u.result = ApplyWrites(u.plan, u.before, Writer(rel_dir));
  return u;
}

Sysfs::VcpuPolicy Sysfs::ReadVcpuPolicy(const VmDir& vm, uint32_t idx) const {
  VcpuPolicy p;
  const std::string d = "vms/" + vm.dir + "/vcpus/" + std::to_string(idx) + "/";
  if (auto t = Read(d + "target_quantum_us"))
    if (auto us = ParseU64(*t)) p.target_ns = *us * 1000;
  if (auto t = Read(d + "reason")) p.reason = ReasonFromName(*t);
  if (auto t = Read(d + "debt_us"))
    if (auto us = ParseS64(*t)) p.debt_ns = *us * 1000;
  if (auto t = Read(d + "group_shift_pct")) {
    std::istringstream in(*t);
    std::string applied, lasting, extra;
    if (in >> applied >> lasting && !(in >> extra)) {
      auto a = ParseS64(applied), l = ParseS64(lasting);
      if (a && l && *a >= INT32_MIN && *a <= INT32_MAX && *l >= INT32_MIN && *l <= INT32_MAX) {
        p.group_shift_pct = static_cast<int32_t>(*a);
        p.group_lasting_pct = static_cast<int32_t>(*l);
      }
    }
  }
  // "<reason> <count>" lines; reasons this build does not know are skipped.
  if (auto t = Read(d + "decisions")) {
    std::array<uint64_t, kReasons> counts{};
    std::istringstream in(*t);
    std::string name, count;
    bool any = false;
    while (in >> name >> count) {
      auto r = ReasonFromName(name);
      auto c = ParseU64(count);
      if (r && c) {
        counts[*r] = *c;
        any = true;
      }
    }
    if (any) p.decisions = counts;
  }
  return p;
}

}  // namespace kq
