// SPDX-License-Identifier: GPL-2.0
#include "sysfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

namespace kq::quantad {

const std::array<const char*, kReasons> kReasonNames = {"base", "warm",      "exit_heavy", "flush",
                                                        "spin", "phase_end", "payback",    "idle"};

std::optional<uint32_t> ReasonFromName(const std::string& name) {
  for (size_t i = 0; i < kReasons; ++i)
    if (name == kReasonNames[i]) return static_cast<uint32_t>(i);
  return std::nullopt;
}

namespace {

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = opendir(path.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    out.emplace_back(e->d_name);
  }
  closedir(d);
  return out;
}

template <typename T>
std::optional<T> ParseNum(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  T v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

template <typename T>
std::optional<T> ReadNum(const std::string& path) {
  auto s = ReadSmallFile(path);
  if (!s) return std::nullopt;
  return ParseNum<T>(*s);
}

}  // namespace

std::optional<std::string> ReadSmallFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

int WriteKnob(const std::string& path, const std::string& value) {
  const int fd = open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return errno;
  const std::string s = value + "\n";
  const ssize_t n = write(fd, s.data(), s.size());
  int err = 0;
  if (n < 0)
    err = errno;
  else if (static_cast<size_t>(n) != s.size())
    err = EIO;
  if (close(fd) < 0 && err == 0) err = errno;
  return err;
}

std::vector<SysfsVm> ListVms(const std::string& root) {
  std::vector<SysfsVm> out;
  for (const std::string& name : ListDir(root + "/vms")) {
    const size_t dash = name.find('-');
    if (dash == std::string::npos) continue;
    auto pid = ParseNum<uint32_t>(std::string_view(name).substr(0, dash));
    auto id = ParseNum<uint64_t>(std::string_view(name).substr(dash + 1));
    if (!pid || !id) continue;
    out.push_back({name, *pid, *id});
  }
  return out;
}

std::vector<uint32_t> ListVcpus(const std::string& vm_dir) {
  std::vector<uint32_t> out;
  for (const std::string& name : ListDir(vm_dir + "/vcpus"))
    if (auto idx = ParseNum<uint32_t>(name)) out.push_back(*idx);
  return out;
}

ApplyResult ApplyPolicy(const std::string& vm_dir, const Policy& p) {
  ApplyResult r;
  const std::string dir = vm_dir + "/policy/";
  if (access(dir.c_str(), F_OK) != 0) {
    r.knobs_present = false;
    return r;
  }
  auto write_one = [&](const char* knob, std::optional<int64_t> old, int64_t v) {
    KnobWrite w{knob, old, v, WriteKnob(dir + knob, std::to_string(v))};
    r.writes.push_back(w);
    return w.err == 0;
  };
  // enabled and weight are independent of the others.
  const auto enabled = ReadNum<int64_t>(dir + "enabled");
  if (enabled != int64_t{p.enabled}) write_one("enabled", enabled, p.enabled ? 1 : 0);
  const auto weight = ReadNum<int64_t>(dir + "weight");
  if (weight != int64_t{p.weight}) write_one("weight", weight, p.weight);

  // min/base/max: cur[] is what the kernel holds (nullopt: unknown, does
  // not constrain); a write is safe when it keeps min <= base <= max among
  // the known values.  Candidates are tried widening first, then base, then
  // narrowing; there is always a safe one while the target is valid.
  enum { kMin, kBase, kMax };
  const char* names[] = {"min_quantum_us", "base_quantum_us", "max_quantum_us"};
  const int64_t want[] = {p.min_quantum_us, p.base_quantum_us, p.max_quantum_us};
  std::optional<int64_t> cur[3];
  bool pending[3];
  for (int i = 0; i < 3; ++i) {
    cur[i] = ReadNum<int64_t>(dir + names[i]);
    pending[i] = cur[i] != want[i];
  }
  auto safe = [&](int k) {
    std::optional<int64_t> v[3] = {cur[0], cur[1], cur[2]};
    v[k] = want[k];
    auto le = [](const std::optional<int64_t>& a, const std::optional<int64_t>& b) {
      return !a || !b || *a <= *b;
    };
    return le(v[kMin], v[kBase]) && le(v[kBase], v[kMax]) && le(v[kMin], v[kMax]);
  };
  while (pending[kMin] || pending[kBase] || pending[kMax]) {
    const bool widen_min = pending[kMin] && (!cur[kMin] || want[kMin] < *cur[kMin]);
    const bool widen_max = pending[kMax] && (!cur[kMax] || want[kMax] > *cur[kMax]);
    int pick = -1;
    const std::pair<int, bool> order[] = {{kMin, widen_min},
                                          {kMax, widen_max},
                                          {kBase, pending[kBase]},
                                          {kMin, pending[kMin]},
                                          {kMax, pending[kMax]}};
    for (const auto& [k, cand] : order)
      if (cand && safe(k)) {
        pick = k;
        break;
      }
    if (pick < 0)  // a failed write left a state with no safe step: try in order
      for (int k : {kMin, kBase, kMax})
        if (pending[k]) {
          pick = k;
          break;
        }
    pending[pick] = false;
    if (write_one(names[pick], cur[pick], want[pick]))
      cur[pick] = want[pick];
    else
      cur[pick] = ReadNum<int64_t>(dir + names[pick]);
  }
  return r;
}

VcpuPolicyState ReadVcpuPolicyState(const std::string& vm_dir, uint32_t idx) {
  VcpuPolicyState s;
  const std::string dir = vm_dir + "/vcpus/" + std::to_string(idx) + "/";
  if (auto us = ReadNum<uint64_t>(dir + "target_quantum_us")) s.target_ns = *us * 1000;
  if (auto r = ReadSmallFile(dir + "reason")) {
    std::string name = *r;
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    s.reason = ReasonFromName(name);
  }
  if (auto d = ReadNum<int64_t>(dir + "debt_us")) s.debt_ns = *d * 1000;
  if (auto text = ReadSmallFile(dir + "decisions")) {
    std::array<uint64_t, kReasons> counts{};
    std::istringstream in(*text);
    std::string name;
    uint64_t n = 0;
    bool any = false;
    while (in >> name >> n)
      if (auto r = ReasonFromName(name)) {
        counts[*r] = n;
        any = true;
      }
    if (any) s.decisions = counts;
  }
  return s;
}

}  // namespace kq::quantad
