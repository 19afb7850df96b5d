// The JSON report kq-testvmm prints and writes after all vCPUs finished.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "exit_policy.hpp"
#include "schedstat.hpp"

namespace kq {

// irq: what the injector measured. Latency = answer exit seen by the vCPU thread minus the
// time just before KVM_IRQ_LINE, CLOCK_MONOTONIC, in ns.
struct IrqLatency {
  std::vector<int64_t> samples_ns;  // answered interrupts, in order of raise
  uint64_t missed = 0;              // interrupts with no answer within kIrqAnswerTimeout
};

struct VcpuReport {
  int index = 0;
  pid_t tid = 0;
  std::string program;
  ExitCounts exits;
  uint64_t guest_iterations = 0;
  uint64_t run_ms = 0;           // wall time from the first KVM_RUN to the stop, floor
  uint64_t kvm_run_calls = 0;    // every KVM_RUN ioctl, retries included
  uint64_t kvm_run_retries = 0;  // KVM_RUN calls that failed with EINTR/EAGAIN and were retried
  SchedStat schedstat;
  pid_t first_tid = 0;  // --switch-thread: the thread that ran the vCPU first (0: one thread)
  bool closed = false;  // --close-during-run: the fds were dropped while the vCPU ran
  std::optional<IrqLatency> latency;  // irq vCPUs only
};

struct VmReport {
  int index = 0;
  std::vector<VcpuReport> vcpus;
};

struct Report {
  pid_t pid = 0;
  std::vector<VmReport> vms;
};

// JSON string contents (without quotes): escapes ", \ and control characters.
std::string JsonEscape(std::string_view s);

// ns as microseconds rounded to 0.1 (half away from zero), e.g. 12349 -> "12.3", 50 -> "0.1".
std::string TenthsOfUs(int64_t ns);

// One line of JSON, no trailing newline. An irq vCPU gets, last, "latency": {"count",
// "missed", "p50_us", "p99_us", "p999_us", "max_us", "mean_us", "samples_us": [...]}: counts
// as integers, the rest microseconds with one decimal (TenthsOfUs); the percentiles, max and
// mean are null when count is 0. Percentiles are nearest-rank (percentile.hpp).
std::string ReportToJson(const Report& report);

// Writes content to path + ".tmp" and renames it to path. False with *error on failure.
bool WriteFileAtomically(const std::string& path, const std::string& content, std::string* error);

}  // namespace kq
