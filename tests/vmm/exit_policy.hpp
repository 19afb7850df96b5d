// What the VMM does on each userspace exit of a guest program: count it, check that it is what
// the program can produce, and decide whether to re-enter or stop. Pure logic (no KVM), so it is
// unit-tested by driving it with the exits of a simulated guest.
#pragma once

#include <cstdint>
#include <string>

#include "guest_programs.hpp"

namespace kq {

struct IoExit {
  uint16_t port = 0;
  bool out = true;     // direction == KVM_EXIT_IO_OUT
  uint8_t size = 0;    // bytes per access
  uint32_t count = 0;  // repetitions (string I/O); always 1 for our guests
  uint32_t value = 0;  // the data written (first access), little endian
};

struct ExitCounts {
  uint64_t io = 0;           // all KVM_EXIT_IO
  uint64_t hlt = 0;          // all KVM_EXIT_HLT, including the final one
  uint64_t io_data = 0;      // io exits on kDataPort
  uint64_t io_done = 0;      // io exits on kDonePort
  uint64_t io_tick = 0;      // io exits on kTickPort
  uint64_t io_answer = 0;    // io exits on kAnswerPort (irq)
  uint64_t duty_sleeps = 0;  // duty: times the VMM thread slept between cycles
};

enum class Verdict { kReenter, kStop, kError };

class ExitPolicy {
 public:
  explicit ExitPolicy(const ProgramSpec& spec) : spec_(spec) {}

  // elapsed_ms: wall time since the vCPU's first KVM_RUN.
  Verdict OnIo(const IoExit& io, double elapsed_ms);
  Verdict OnHlt();

  // After a kReenter at elapsed_ms: how long (ms) the VMM thread sleeps outside KVM_RUN before
  // re-entering. Nonzero only for duty, once per cycle: at the first exit kDutyRunMs or more
  // after the cycle began; the next cycle begins when that sleep ends.
  double SleepAfterExit(double elapsed_ms);

  // After kStop: checks the guest's own counter (ESI) against what the VMM saw. False (and
  // error() set) on a mismatch.
  bool Finish(uint32_t esi);

  const ExitCounts& counts() const { return counts_; }
  // Loop iterations the guest completed: io outs, CPUIDs, loop hlts, or for compute
  // ticks * ITERS, or irq interrupts answered. Valid after Finish.
  uint64_t guest_iterations() const { return guest_iterations_; }
  const std::string& error() const { return error_; }

 private:
  Verdict Fail(const std::string& why);

  ProgramSpec spec_;
  ExitCounts counts_;
  bool done_seen_ = false;
  uint32_t done_value_ = 0;
  uint64_t loop_hlts_ = 0;
  uint64_t guest_iterations_ = 0;
  double cycle_start_ms_ = 0;
  std::string error_;
};

}  // namespace kq
