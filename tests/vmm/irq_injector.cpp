#include "irq_injector.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kq {
namespace {

constexpr int kKickSignal = SIGUSR1;

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "the futex word must be a plain 32-bit word");

timespec ToTimespec(int64_t ns) {
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

void SleepUntil(int64_t ns) {
  const timespec ts = ToTimespec(ns);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

uint32_t* FutexWord(std::atomic<uint32_t>& a) { return reinterpret_cast<uint32_t*>(&a); }

// KVM_IRQ_LINE on the VM; false with errno on failure.
bool SetLine(int vm_fd, uint32_t level) {
  kvm_irq_level irq{};
  irq.irq = kIrqLine;
  irq.level = level;
  return ioctl(vm_fd, KVM_IRQ_LINE, &irq) == 0;
}

// The IVT entry of kIrqVector as vCPU 0's guest writes it last in its set-up (segment 0).
bool HandlerInstalled(const Vm& vm) {
  const uint32_t expected = kCodeBase + static_cast<uint32_t>(IrqHandlerOffset());
  auto* word = reinterpret_cast<uint32_t*>(vm.mem() + kIrqIvtEntry);
  return std::atomic_ref<uint32_t>(*word).load(std::memory_order_acquire) == expected;
}

}  // namespace

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void IrqLink::OnAnswer(int64_t t_ns) {
  t_answer_ns_.store(t_ns, std::memory_order_relaxed);
  answers_.fetch_add(1, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, FutexWord(wake_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void IrqLink::OnVcpuEnd() {
  ended_.store(true);
  wake_.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, FutexWord(wake_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void IrqLink::SetThread(pthread_t t) {
  std::lock_guard<std::mutex> lock(thread_mu_);
  thread_ = t;
  has_thread_ = true;
}

void IrqLink::Kick(kvm_run* run) {
  stop_.store(true);
  // Covers a vCPU thread between its checks and KVM_RUN, which the signal would not interrupt.
  std::atomic_ref<uint8_t>(run->immediate_exit).store(1);
  // The vCPU threads are joined after the injectors, so a stored thread still exists.
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (has_thread_) pthread_kill(thread_, kKickSignal);
}

std::optional<int64_t> IrqLink::WaitAnswer(uint64_t after, int64_t not_before,
                                           int64_t deadline_ns) {
  const timespec deadline = ToTimespec(deadline_ns);
  while (true) {
    const uint32_t w = wake_.load(std::memory_order_acquire);
    const uint64_t n = answers_.load(std::memory_order_acquire);
    if (n != after) {
      const int64_t t = t_answer_ns_.load(std::memory_order_relaxed);
      if (t >= not_before) return t;
      after = n;  // a late answer to an earlier, missed interrupt: keep waiting
      continue;
    }
    if (ended_.load() || MonotonicNs() >= deadline_ns) return std::nullopt;
    // Absolute CLOCK_MONOTONIC timeout; returns at once if wake_ moved since the load.
    syscall(SYS_futex, FutexWord(wake_), FUTEX_WAIT_BITSET_PRIVATE, w, &deadline, nullptr,
            FUTEX_BITSET_MATCH_ANY);
  }
}

void InstallKickHandler() {
  struct sigaction sa {};
  sa.sa_handler = [](int) {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // KVM_RUN returns EINTR regardless; other syscalls restart
  sigaction(kKickSignal, &sa, nullptr);
}

IntervalRng::IntervalRng(uint64_t seed, int stream)
    : state_(seed ^ (0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(stream) + 1))) {}

uint64_t IntervalRng::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint32_t IntervalRng::Uniform(uint32_t lo, uint32_t hi) {
  const uint64_t span = uint64_t{hi} - lo + 1;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;  // accept [0, limit): a multiple of span
  uint64_t x = Next();
  while (x >= limit) x = Next();
  return lo + static_cast<uint32_t>(x % span);
}

void RunInjector(Vm& vm, const ProgramSpec& spec, const InjectorContext& ctx, IrqLink& link,
                 InjectorOutcome* out) {
  const std::string name = "kq-vm" + std::to_string(vm.index()) + "-irq";
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  if (ctx.pin_cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(*ctx.pin_cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
      out->error = "injector: sched_setaffinity(CPU " + std::to_string(*ctx.pin_cpu) +
                   "): " + strerror(errno);
      ctx.abort->store(true);
    }
  }
  ctx.start->wait();
  Vcpu& vcpu = *vm.vcpus().at(0);
  const int64_t run_ns = int64_t{spec.count} * 1'000'000;
  const int64_t give_up = MonotonicNs() + run_ns;
  auto quit = [&] { return ctx.abort->load() || link.vcpu_ended() || vcpu.detached(); };
  // Before the handler is installed a raise could be lost (ICW1 clears the PIC's edge IRR).
  while (!quit() && !HandlerInstalled(vm) && MonotonicNs() < give_up) {
    SleepUntil(MonotonicNs() + 50'000);
  }
  // The guest ran, so its thread has set the start (a failed start leaves 0: stop at once).
  const int64_t deadline = link.start_ns() + run_ns;
  IntervalRng rng(ctx.seed, vm.index());
  int64_t base = MonotonicNs();
  while (!quit() && HandlerInstalled(vm)) {
    const int64_t wake = base + int64_t{rng.Uniform(spec.min_us, spec.max_us)} * 1000;
    if (wake >= deadline) {
      SleepUntil(deadline);  // run the full MS, like the other timed programs
      break;
    }
    SleepUntil(wake);
    if (quit()) break;
    const uint64_t before = link.answers();
    const int64_t t_raise = MonotonicNs();
    if (!SetLine(vm.fd(), 1) || !SetLine(vm.fd(), 0)) {
      if (!vcpu.detached()) {  // detached: the fd is /dev/null now, not an error
        out->error = std::string("injector: KVM_IRQ_LINE: ") + strerror(errno);
        ctx.abort->store(true);
      }
      break;
    }
    const std::optional<int64_t> t_answer =
        link.WaitAnswer(before, t_raise, t_raise + kIrqAnswerTimeoutNs);
    if (t_answer) {
      out->latency.samples_ns.push_back(*t_answer - t_raise);
      base = *t_answer;
    } else if (quit()) {
      break;
    } else {
      ++out->latency.missed;
      base = t_raise + kIrqAnswerTimeoutNs;
    }
  }
  link.Kick(vcpu.run());
}

}  // namespace kq
