#include "vcpu_runner.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "exit_policy.hpp"

namespace kq {
namespace {

std::string Hex(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

std::string ExitDescription(const kvm_run& run) {
  switch (run.exit_reason) {
    case KVM_EXIT_FAIL_ENTRY:
      return "KVM_EXIT_FAIL_ENTRY (hardware_entry_failure_reason " +
             Hex(run.fail_entry.hardware_entry_failure_reason) + ")";
    case KVM_EXIT_INTERNAL_ERROR:
      return "KVM_EXIT_INTERNAL_ERROR (suberror " + std::to_string(run.internal.suberror) + ")";
    case KVM_EXIT_SHUTDOWN:
      return "KVM_EXIT_SHUTDOWN (triple fault)";
    case KVM_EXIT_MMIO:
      return "KVM_EXIT_MMIO at " + Hex(run.mmio.phys_addr);
    default:
      return "unexpected exit reason " + std::to_string(run.exit_reason);
  }
}

// Where one vCPU's run stands, across the threads that run it.
struct LoopState {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  bool switched = false;      // the second thread has taken over
  bool handoff = false;       // Loop stopped to hand the vCPU to the second thread
  bool counted_exit = false;  // ctx.exited_once counted down for this vCPU
};

void CountExit(const VcpuRunContext& ctx, LoopState& st) {
  if (ctx.exited_once != nullptr && !st.counted_exit) {
    st.counted_exit = true;
    ctx.exited_once->count_down();
  }
}

// The vCPU loop proper; returns an error message or "".
std::string Loop(Vcpu& vcpu, ExitPolicy& policy, const VcpuRunContext& ctx, VcpuReport& rep,
                 const ProgramSpec& spec, LoopState& st, IrqLink* link) {
  kvm_run* run = vcpu.run();
  auto elapsed_ms = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - st.start)
        .count();
  };
  std::string error;
  while (true) {
    if (ctx.abort->load(std::memory_order_relaxed)) {
      error = "stopped because another vCPU failed";
      break;
    }
    if (vcpu.detached()) break;
    ++rep.kvm_run_calls;
    if (ioctl(vcpu.fd(), KVM_RUN, 0) < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        ++rep.kvm_run_retries;
        // irq: the injector's stop (abort is reported by the check at the top).
        if (link != nullptr && link->stop_requested() && !ctx.abort->load()) break;
        continue;
      }
      if (vcpu.detached()) break;  // the fd is /dev/null now
      error = std::string("KVM_RUN: ") + strerror(errno);
      break;
    }
    // irq: the answer's time, taken before anything else the VMM does.
    const int64_t t_exit = link != nullptr ? MonotonicNs() : 0;
    Verdict verdict;
    if (run->exit_reason == KVM_EXIT_IO) {
      IoExit io;
      io.port = run->io.port;
      io.out = run->io.direction == KVM_EXIT_IO_OUT;
      io.size = run->io.size;
      io.count = run->io.count;
      const uint8_t* data = reinterpret_cast<const uint8_t*>(run) + run->io.data_offset;
      for (unsigned i = 0; i < io.size && i < 4; ++i) io.value |= uint32_t{data[i]} << (8 * i);
      verdict = policy.OnIo(io, elapsed_ms());
      if (link != nullptr && io.port == kAnswerPort && verdict != Verdict::kError) {
        link->OnAnswer(t_exit);
      }
    } else if (run->exit_reason == KVM_EXIT_HLT) {
      verdict = policy.OnHlt();
    } else {
      verdict = Verdict::kError;
    }
    // What was read may come from the anonymous page that replaced kvm_run: checked after.
    if (vcpu.detached()) break;
    CountExit(ctx, st);
    if (verdict == Verdict::kError) {
      error = run->exit_reason == KVM_EXIT_IO || run->exit_reason == KVM_EXIT_HLT
                  ? policy.error()
                  : "guest '" + rep.program + "': " + ExitDescription(*run);
      break;
    }
    // Hand over at the first exit from half the time on (timed programs; at the latest at the
    // exit that would stop them: the second thread re-enters once and meets the stop again),
    // or at the first exit that does not end the program (counted programs).
    if (ctx.switch_thread && !st.switched &&
        (spec.Timed() ? elapsed_ms() >= spec.count / 2.0 || verdict == Verdict::kStop
                      : verdict != Verdict::kStop)) {
      st.handoff = true;
      return "";
    }
    if (verdict == Verdict::kStop) break;
    // duty: asleep in the VMM, not runnable and not in KVM_RUN, between cycles.
    const double sleep_ms = policy.SleepAfterExit(elapsed_ms());
    if (sleep_ms > 0)
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(sleep_ms));
  }
  rep.run_ms = static_cast<uint64_t>(elapsed_ms());
  if (vcpu.detached()) {
    rep.closed = true;
    return "";
  }
  if (!error.empty()) return error;
  const kvm_regs regs = vcpu.GetRegs();
  if (!policy.Finish(static_cast<uint32_t>(regs.rsi))) return policy.error();
  rep.guest_iterations = policy.guest_iterations();
  return "";
}

// The instruction-count marker of tests/tcg/kq_insn.c: "out %al, $0x9a", these two bytes
// (e6 9a) and no other encoding.  Nothing decodes the port.
constexpr unsigned kMarkPort = 0x9a;

void Mark() { asm volatile("outb %%al, $0x9a" : : "a"(static_cast<uint8_t>(0)) : "memory"); }

// Names and pins the calling thread (and lets it execute the marker); returns an error
// message or "".
std::string SetUpThread(const std::string& name, const VcpuRunContext& ctx) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  if (ctx.mark && ioperm(kMarkPort, 1, 1) != 0) {
    return std::string("ioperm(0x9a) for --mark: ") + strerror(errno);
  }
  if (ctx.pin_cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(*ctx.pin_cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      return "sched_setaffinity(CPU " + std::to_string(*ctx.pin_cpu) + "): " + strerror(errno);
    }
  }
  return "";
}

// Runs the vCPU in the calling thread until its end or a handoff; the thread's schedstat is
// read here, while the thread still exists.
std::string RunPart(Vcpu& vcpu, ExitPolicy& policy, const VcpuRunContext& ctx, VcpuReport& rep,
                    const ProgramSpec& spec, LoopState& st, IrqLink* link) {
  rep.tid = static_cast<pid_t>(syscall(SYS_gettid));
  if (link != nullptr) link->SetThread(pthread_self());
  std::string error;
  try {
    error = Loop(vcpu, policy, ctx, rep, spec, st, link);
  } catch (const KvmError& e) {
    error = e.what();
  }
  if (error.empty() && !st.handoff) {
    auto stat = ReadThreadSchedstat(rep.tid, &error);
    if (stat) rep.schedstat = *stat;
  }
  return error;
}

}  // namespace

void RunVcpu(int vm_index, Vcpu& vcpu, const ProgramSpec& spec, const VcpuRunContext& ctx,
             VcpuOutcome* out, IrqLink* irq_link) {
  const std::string name =
      "kq-vm" + std::to_string(vm_index) + "-vcpu" + std::to_string(vcpu.index());
  VcpuReport& rep = out->report;
  rep.index = vcpu.index();
  rep.program = spec.text;
  rep.tid = static_cast<pid_t>(syscall(SYS_gettid));
  std::string error = SetUpThread(name, ctx);
  ctx.start->wait();
  LoopState st;
  if (irq_link != nullptr) irq_link->SetStart(MonotonicNs());  // after st.start: see SetStart
  if (error.empty()) {
    ExitPolicy policy(spec);
    if (ctx.mark) Mark();
    error = RunPart(vcpu, policy, ctx, rep, spec, st, irq_link);
    if (error.empty() && st.handoff) {
      // The same vCPU, from here on run by another thread (KVM_RUN from thread A, then B).
      rep.first_tid = rep.tid;
      const pthread_t first = pthread_self();
      st.handoff = false;
      st.switched = true;
      std::thread second([&] {
        error = SetUpThread(name + "b", ctx);
        if (error.empty()) error = RunPart(vcpu, policy, ctx, rep, spec, st, irq_link);
        if (irq_link != nullptr) irq_link->SetThread(first);  // this thread is about to end
      });
      second.join();
    }
    if (ctx.mark) Mark();
    rep.exits = policy.counts();
  }
  CountExit(ctx, st);
  if (!error.empty()) {
    out->error = "vcpu " + std::to_string(rep.index) + ": " + error;
    ctx.abort->store(true);
  }
  if (irq_link != nullptr) irq_link->OnVcpuEnd();
}

}  // namespace kq
