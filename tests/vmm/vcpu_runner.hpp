// The body of one vCPU thread: pin, wait for the start signal, loop on KVM_RUN handling exits
// through ExitPolicy, then read the thread's schedstat.
#pragma once

#include <atomic>
#include <latch>
#include <optional>
#include <string>

#include "guest_programs.hpp"
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
};

// Names the calling thread "kq-vmV-vcpuC", then runs the vCPU to its end.
void RunVcpu(int vm_index, Vcpu& vcpu, const ProgramSpec& spec, const VcpuRunContext& ctx,
             VcpuOutcome* out);

}  // namespace kq
