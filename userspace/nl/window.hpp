// SPDX-License-Identifier: GPL-2.0
// Reassembles the SAMPLES messages of one window and keeps the statistics
// that tell whether a listener saw everything.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "kq_nl.hpp"

namespace kq::nl {

struct Window {
  uint64_t seq = 0;
  uint64_t time_ns = 0;
  uint32_t nr_vcpus = 0;
  uint64_t drops = 0;  // the kernel's counter as of this window
  unsigned messages = 0;
  std::vector<VcpuSample> vcpus;
  bool complete() const { return vcpus.size() == nr_vcpus; }
};

struct WatchStats {
  uint64_t windows = 0;     // windows reported (a first, partly missed one is not)
  uint64_t complete = 0;    // with all nr_vcpus samples
  uint64_t incomplete = 0;  // with some missing
  uint64_t missed = 0;      // sequence numbers never seen between the first and last
  bool first_partial = false;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t max_drops = 0;
  std::set<std::pair<uint64_t, uint32_t>> vcpus;  // (vm_id, vcpu_idx)
};

// Messages of one window are multicast back to back, before the next
// window's: a message of a later window closes every earlier one.
class WindowTracker {
 public:
  explicit WindowTracker(std::function<void(const Window&)> emit) : emit_(std::move(emit)) {}

  // A SAMPLES message; returns false if it has no seq or nr-vcpus.
  bool Add(const Message& m);
  // Closes the windows still open (at the end of a watch).
  void Flush();
  bool open() const { return !open_.empty(); }
  const WatchStats& stats() const { return stats_; }

 private:
  void Close(Window& w);

  std::function<void(const Window&)> emit_;
  std::map<uint64_t, Window> open_;
  WatchStats stats_;
  bool any_ = false;
};

}  // namespace kq::nl
