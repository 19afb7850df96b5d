// SPDX-License-Identifier: GPL-2.0
// Achieved quanta of chosen threads (the vCPU threads), measured in the
// kernel by bpf/vcpu_quanta.bpf.c at sched_switch: per thread the number of
// quanta (switch-in to switch-out), their total and longest, and a log2
// histogram.  Needs CAP_BPF and CAP_PERFMON (or root) and a kernel with BTF.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct vcpu_quanta_bpf;

namespace kq::bpfq {

inline constexpr size_t kBuckets = 64;

struct TidQuanta {
  uint64_t count = 0;
  uint64_t total_ns = 0;
  uint64_t max_ns = 0;
  // hist[b]: quanta of length in [2^b, 2^(b+1)) ns.
  std::array<uint64_t, kBuckets> hist{};
  // Mean quantum in ns, or nullopt without one.
  std::optional<uint64_t> mean_ns() const {
    if (count == 0) return std::nullopt;
    return total_ns / count;
  }
};

// The loaded and attached BPF program and its map.  Not thread-safe.
class QuantaTracer {
 public:
  ~QuantaTracer();
  QuantaTracer(const QuantaTracer&) = delete;
  QuantaTracer& operator=(const QuantaTracer&) = delete;

  // Loads the program (CO-RE against the running kernel's BTF) and
  // attaches it to sched_switch.
  static std::unique_ptr<QuantaTracer> Open(std::string* error);

  // Starts measuring tid (from its next switch-in).  Adding a tid that is
  // already measured keeps its statistics.
  bool AddTid(uint32_t tid, std::string* error);
  // Stops measuring tid and forgets its statistics.
  bool RemoveTid(uint32_t tid, std::string* error);
  // Statistics of one measured tid, nullopt if it is not measured.
  std::optional<TidQuanta> Read(uint32_t tid) const;
  // Every measured tid.
  std::map<uint32_t, TidQuanta> ReadAll() const;

 private:
  QuantaTracer() = default;
  struct vcpu_quanta_bpf* skel_ = nullptr;
  int map_fd_ = -1;
};

// "1,2,3" -> {1,2,3}: decimal tids > 0, comma-separated, no duplicates.
bool ParseTidList(const std::string& s, std::vector<uint32_t>* out, std::string* error);

// Lower bound of a log2 bucket in ns, as bpftrace prints it: "512K", "4M".
std::string BucketLabel(size_t bucket);

// {"tid":..,"count":..,"total_ns":..,"mean_ns":..|null,"max_ns":..,
//  "hist":[{"lo_ns":..,"count":..},...]} with only non-empty buckets.
std::string TidQuantaJson(uint32_t tid, const TidQuanta& q);

}  // namespace kq::bpfq
