// SPDX-License-Identifier: GPL-2.0
#include "quanta_tracer.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "vcpu_quanta.h"
#include "vcpu_quanta.skel.h"

namespace kq::bpfq {
namespace {

static_assert(kBuckets == KQ_QUANTA_BUCKETS);

int QuietPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  if (level == LIBBPF_INFO && getenv("KQ_BPF_VERBOSE") == nullptr) return 0;
  return vfprintf(stderr, fmt, args);
}

TidQuanta FromKernel(const kq_quanta_stats& s) {
  TidQuanta q;
  q.count = s.count;
  q.total_ns = s.total_ns;
  q.max_ns = s.max_ns;
  for (size_t b = 0; b < kBuckets; ++b) q.hist[b] = s.hist[b];
  return q;
}

std::string Errno(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err < 0 ? -err : err);
}

}  // namespace

QuantaTracer::~QuantaTracer() {
  if (skel_) vcpu_quanta_bpf__destroy(skel_);
}

std::unique_ptr<QuantaTracer> QuantaTracer::Open(std::string* error) {
  libbpf_set_print(QuietPrint);
  std::unique_ptr<QuantaTracer> t(new QuantaTracer());
  t->skel_ = vcpu_quanta_bpf__open_and_load();
  if (!t->skel_) {
    *error = Errno("loading the BPF program (needs root or CAP_BPF+CAP_PERFMON, and BTF)", errno);
    return nullptr;
  }
  if (int err = vcpu_quanta_bpf__attach(t->skel_); err != 0) {
    *error = Errno("attaching to sched_switch", err);
    return nullptr;
  }
  t->map_fd_ = bpf_map__fd(t->skel_->maps.quanta);
  return t;
}

bool QuantaTracer::AddTid(uint32_t tid, std::string* error) {
  kq_quanta_stats zero{};
  if (bpf_map_update_elem(map_fd_, &tid, &zero, BPF_NOEXIST) != 0 && errno != EEXIST) {
    *error = Errno(("adding tid " + std::to_string(tid)).c_str(), errno);
    return false;
  }
  return true;
}

bool QuantaTracer::RemoveTid(uint32_t tid, std::string* error) {
  if (bpf_map_delete_elem(map_fd_, &tid) != 0 && errno != ENOENT) {
    *error = Errno(("removing tid " + std::to_string(tid)).c_str(), errno);
    return false;
  }
  return true;
}

std::optional<TidQuanta> QuantaTracer::Read(uint32_t tid) const {
  kq_quanta_stats s{};
  if (bpf_map_lookup_elem(map_fd_, &tid, &s) != 0) return std::nullopt;
  return FromKernel(s);
}

std::map<uint32_t, TidQuanta> QuantaTracer::ReadAll() const {
  std::map<uint32_t, TidQuanta> out;
  uint32_t key = 0, next = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(map_fd_, prev, &next) == 0) {
    if (auto q = Read(next)) out[next] = *q;
    key = next;
    prev = &key;
  }
  return out;
}

bool ParseTidList(const std::string& s, std::vector<uint32_t>* out, std::string* error) {
  out->clear();
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    const std::string item =
        s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty() || item.size() > 10 ||
        item.find_first_not_of("0123456789") != std::string::npos) {
      *error = "bad tid '" + item + "' in '" + s + "': expected comma-separated numbers";
      return false;
    }
    const uint64_t v = std::stoull(item);
    if (v == 0 || v > INT32_MAX) {
      *error = "tid " + item + " out of range 1.." + std::to_string(INT32_MAX);
      return false;
    }
    for (uint32_t t : *out) {
      if (t == v) {
        *error = "tid " + item + " given twice";
        return false;
      }
    }
    out->push_back(static_cast<uint32_t>(v));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return true;
}

std::string BucketLabel(size_t bucket) {
  // Powers of 1024 as in bpftrace's hist(): bucket 10 is "1K", 21 "2M".
  static const char* const kSuffix[] = {"", "K", "M", "G", "T", "P", "E"};
  if (bucket >= kBuckets) return "?";
  return std::to_string(uint64_t{1} << (bucket % 10)) + kSuffix[bucket / 10];
}

std::string TidQuantaJson(uint32_t tid, const TidQuanta& q) {
  nlohmann::ordered_json j;
  j["tid"] = tid;
  j["count"] = q.count;
  j["total_ns"] = q.total_ns;
  if (auto m = q.mean_ns()) {
    j["mean_ns"] = *m;
  } else {
    j["mean_ns"] = nullptr;
  }
  j["max_ns"] = q.max_ns;
  j["hist"] = nlohmann::json::array();
  for (size_t b = 0; b < kBuckets; ++b) {
    if (q.hist[b] == 0) continue;
    j["hist"].push_back({{"lo_ns", uint64_t{1} << b}, {"count", q.hist[b]}});
  }
  return j.dump();
}

}  // namespace kq::bpfq
