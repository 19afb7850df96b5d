// SPDX-License-Identifier: GPL-2.0
#include "window.hpp"

#include <algorithm>

namespace kq::nl {

bool WindowTracker::Add(const Message& m) {
  if (!m.seq || !m.nr_vcpus) return false;
  const uint64_t seq = *m.seq;
  while (!open_.empty() && open_.begin()->first < seq) {
    Close(open_.begin()->second);
    open_.erase(open_.begin());
  }
  if (any_ && seq <= stats_.last_seq && !open_.contains(seq)) return true;  // late or repeated
  Window& w = open_[seq];
  w.seq = seq;
  w.time_ns = m.time_ns.value_or(0);
  w.nr_vcpus = *m.nr_vcpus;
  w.drops = std::max(w.drops, m.drops.value_or(0));
  w.messages++;
  w.vcpus.insert(w.vcpus.end(), m.vcpus.begin(), m.vcpus.end());
  if (w.vcpus.size() >= w.nr_vcpus) {
    Close(w);
    open_.erase(seq);
  }
  return true;
}

void WindowTracker::Flush() {
  for (auto& [seq, w] : open_) Close(w);
  open_.clear();
}

void WindowTracker::Close(Window& w) {
  if (!any_) {
    any_ = true;
    stats_.first_seq = w.seq;
    if (!w.complete()) {
      // We subscribed in the middle of this window's messages.
      stats_.first_partial = true;
      stats_.last_seq = w.seq;
      return;
    }
  } else if (w.seq > stats_.last_seq + 1) {
    stats_.missed += w.seq - stats_.last_seq - 1;
  }
  stats_.last_seq = std::max(stats_.last_seq, w.seq);
  stats_.windows++;
  if (w.complete())
    stats_.complete++;
  else
    stats_.incomplete++;
  stats_.max_drops = std::max(stats_.max_drops, w.drops);
  for (const VcpuSample& v : w.vcpus) stats_.vcpus.insert({v.vm_id, v.vcpu_idx});
  emit_(w);
}

}  // namespace kq::nl
