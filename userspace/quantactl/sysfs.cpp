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

namespace kq::ctl {
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

std::optional<VmName> ParseVmDir(const std::string& dir) {
  const size_t dash = dir.find('-');
  if (dash == std::string::npos) return std::nullopt;
  auto pid = ParseU64(dir.substr(0, dash));
  auto id = ParseU64(dir.substr(dash + 1));
  if (!pid || !id || *pid > UINT32_MAX) return std::nullopt;
  return VmName{dir, static_cast<uint32_t>(*pid), *id};
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
    if (!v || ParseU64(name)) return std::nullopt;
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

std::vector<VmName> Sysfs::ListVms() const {
  std::vector<VmName> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(root_) / "vms", ec)) {
    if (auto vm = ParseVmDir(e.path().filename())) out.push_back(*vm);
  }
  std::sort(out.begin(), out.end(), [](const VmName& a, const VmName& b) {
    return std::tie(a.pid, a.vm_id) < std::tie(b.pid, b.vm_id);
  });
  return out;
}

std::optional<VmName> Sysfs::ResolveVm(const std::string& arg, std::string* error) const {
  std::error_code ec;
  if (!fs::is_directory(fs::path(root_) / "vms", ec)) {
    *error = "kvm_quanta is not loaded (no " + root_ + "/vms)";
    return std::nullopt;
  }
  const auto vms = ListVms();
  if (arg.find('-') != std::string::npos) {
    for (const auto& vm : vms) {
      if (vm.dir == arg) return vm;
    }
    *error = "no VM " + arg + " in " + root_ + "/vms";
    return std::nullopt;
  }
  auto pid = ParseU64(arg);
  if (!pid) {
    *error = "bad VM '" + arg + "': expected <pid>-<id> (as in " + root_ + "/vms) or a pid";
    return std::nullopt;
  }
  std::vector<VmName> match;
  for (const auto& vm : vms) {
    if (vm.pid == *pid) match.push_back(vm);
  }
  if (match.size() == 1) return match[0];
  if (match.empty()) {
    *error = "no VM of pid " + arg + " in " + root_ + "/vms";
  } else {
    *error = "pid " + arg + " has " + std::to_string(match.size()) + " VMs, name one:";
    for (const auto& vm : match) *error += " " + vm.dir;
  }
  return std::nullopt;
}

std::vector<uint32_t> Sysfs::VcpuIndices(const VmName& vm) const {
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

nlohmann::ordered_json Sysfs::VmTree(const VmName& vm) const {
  return Tree(fs::path(root_) / "vms" / vm.dir);
}

}  // namespace kq::ctl
