// The body of one vCPU thread: pin, wait for the start signal, loop on KVM_RUN handling exits
// through ExitPolicy, then read the thread's schedstat.
#pragma once

#include <atomic>
#include <latch>
#include <optional>
#include <string>

#include "guest_programs.hpp"
#include "irq_injector.hpp"
#include "json_report.hpp"
#include "kvm_vm.hpp"

namespace kq {

struct VcpuOutcome {
  VcpuReport report;
  std::string error;  // empty: success
};

struct VcpuRunContext {
  std::optional<int> pin_cpu;
  std::latch* start = nullptr;         // all threads wait on it before the first KVM_RUN
  std::atomic<bool>* abort = nullptr;  // set by a failing vCPU; the others stop at their next exit
  bool switch_thread = false;          // --switch-thread
  // Counted down once by each vCPU at its first userspace exit or at its end, whichever is
  // first (--close-during-run waits on it); may be null.
  std::latch* exited_once = nullptr;
  bool mark = false;  // --mark: the instruction-count marker around the vCPU's run
};

// Names the calling thread "kq-vmV-vcpuC", then runs the vCPU to its end. With switch_thread,
// a second thread "kq-vmV-vcpuCb" takes the vCPU over half-way (first_tid in the report).
// A vCPU detached by another thread (Vcpu::Detach) ends without error, marked closed.
// irq_link (irq programs, else null): answers are timed and reported through it, and its
// Kick ends the run (KVM_RUN fails with EINTR once the stop is requested).
void RunVcpu(int vm_index, Vcpu& vcpu, const ProgramSpec& spec, const VcpuRunContext& ctx,
             VcpuOutcome* out, IrqLink* irq_link = nullptr);

}  // namespace kq
