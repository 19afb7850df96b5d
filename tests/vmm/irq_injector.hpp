// The injector of an irq: vCPU: a thread that raises the guest's PIC line at random intervals
// and times each answer, and the link through which the vCPU thread reports the answers.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <mutex>
#include <optional>
#include <string>

#include "guest_programs.hpp"
#include "json_report.hpp"
#include "kvm_vm.hpp"

namespace kq {

// An interrupt not answered within this time is counted missed.
inline constexpr int64_t kIrqAnswerTimeoutNs = 1'000'000'000;

int64_t MonotonicNs();

// Shared by an irq vCPU's thread (writer of answers) and its injector (waiter). The vCPU side
// never blocks: it stores, bumps and FUTEX_WAKEs.
class IrqLink {
 public:
  // vCPU thread: an answer exit seen at t_ns (CLOCK_MONOTONIC).
  void OnAnswer(int64_t t_ns);
  // vCPU thread: the vCPU's run ended (wakes a waiting injector).
  void OnVcpuEnd();
  // vCPU thread(s): t runs the vCPU from now on (the one Kick signals). A thread that ends
  // before the vCPU's original thread (--switch-thread) hands it back first, so that Kick
  // never signals a joined thread. Not on the answer path: the lock is only taken here and in
  // Kick.
  void SetThread(pthread_t t);
  // vCPU thread: its run's start (CLOCK_MONOTONIC), taken before the first KVM_RUN and after
  // the start of its run_ms clock. The injector stops the vCPU MS ms after it.
  void SetStart(int64_t t_ns) { start_ns_.store(t_ns); }
  int64_t start_ns() const { return start_ns_.load(); }

  // Injector: makes the vCPU's KVM_RUN return EINTR now (signal) or at its next entry
  // (immediate_exit), after which stop_requested() ends the vCPU. Idempotent.
  void Kick(kvm_run* run);
  bool stop_requested() const { return stop_.load(); }
  bool vcpu_ended() const { return ended_.load(); }

  // Injector: waits until an answer newer than `after` (answers() before the raise) whose time
  // is >= not_before, or until deadline_ns, or the vCPU ended. Returns the answer's time.
  std::optional<int64_t> WaitAnswer(uint64_t after, int64_t not_before, int64_t deadline_ns);
  uint64_t answers() const { return answers_.load(std::memory_order_acquire); }

 private:
  std::atomic<uint32_t> wake_{0};  // futex word: bumped by every answer and at the vCPU's end
  std::atomic<uint64_t> answers_{0};
  std::atomic<int64_t> t_answer_ns_{0};
  std::atomic<int64_t> start_ns_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> ended_{false};
  std::mutex thread_mu_;
  bool has_thread_ = false;
  pthread_t thread_{};
};

// Installs the no-op handler of the signal that Kick sends (process-wide; call before Kick).
void InstallKickHandler();

// Deterministic interval generator (SplitMix64; independent of the C++ library's
// distributions, so a seed gives the same intervals everywhere).
class IntervalRng {
 public:
  IntervalRng(uint64_t seed, int stream);
  uint64_t Next();
  // Uniform in [lo, hi] (rejection sampling, no modulo bias).
  uint32_t Uniform(uint32_t lo, uint32_t hi);

 private:
  uint64_t state_;
};

struct InjectorContext {
  std::optional<int> pin_cpu;  // --injector-cpu
  std::latch* start = nullptr;
  std::atomic<bool>* abort = nullptr;
  uint64_t seed = kDefaultIrqSeed;
};

struct InjectorOutcome {
  IrqLatency latency;
  std::string error;  // empty: success
};

// Names the thread "kq-vmV-irq", waits for the start, waits until vCPU 0's guest has installed
// its handler, then until spec.count ms after the vCPU's start (as run_ms counts): sleeps a
// random interval, raises kIrqLine (edge: level 1, then 0) and waits for the answer. An interval
// that would end after that time is cut to it. Always ends by kicking the vCPU.
void RunInjector(Vm& vm, const ProgramSpec& spec, const InjectorContext& ctx, IrqLink& link,
                 InjectorOutcome* out);

}  // namespace kq
