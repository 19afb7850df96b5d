// Guest programs for kq-testvmm: parsing of program specs ("io:1000") and the hand-assembled
// 16-bit real-mode machine code each vCPU runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kq {

// I/O ports the guests write to. None of them is handled inside KVM, so each `out` is a
// KVM_EXIT_IO to userspace.
inline constexpr uint16_t kDataPort = 0x10;  // io / iostorm: `out dx, al`, 1 byte, value kDataByte
inline constexpr uint16_t kDonePort = 0x11;  // cpuid / hlt: `out dx, eax`, 4 bytes, value = ESI
inline constexpr uint16_t kTickPort = 0x12;  // compute / cpuidstorm: 4 bytes, value = ESI
inline constexpr uint16_t kAnswerPort = 0x13;  // irq: handler's answer, 4 bytes, value = ESI
inline constexpr uint8_t kDataByte = 0x5A;

// Every number in a program spec (N, MS, ITERS, PER) is decimal in [1, kMaxNumber].
inline constexpr uint32_t kMaxNumber = 1u << 31;
// compute: iterations per tick. Measured in the bookworm rig (TCG-in-TCG, one vCPU alone),
// vCPU run time per tick: 1M iterations 3.9 ms, 3M 9.1 ms, 10M 28 ms (noisy); 4M gives ~12 ms.
inline constexpr uint32_t kDefaultComputeIters = 4'000'000;
inline constexpr uint32_t kDefaultCpuidPerTick = 1000;  // cpuidstorm: cpuids per tick
// duty: the compute loop, ticking about every 2 ms of vCPU run time in the rig, and the VMM
// thread's cycle: runnable kDutyRunMs (wall clock), then asleep outside KVM_RUN kDutySleepMs.
inline constexpr uint32_t kDefaultDutyIters = 500'000;
inline constexpr double kDutyRunMs = 20;
inline constexpr double kDutySleepMs = 20;

// Guest code of vCPU i of a VM is loaded at kCodeBase + i * kCodeStride (CS base 0, IP = that).
inline constexpr uint32_t kCodeBase = 0x1000;
inline constexpr uint32_t kCodeStride = 0x100;
inline constexpr int kMaxVcpusPerVm = 64;

// irq: the guest programs the master 8259 PIC (vectors kIrqVectorBase..+7) and unmasks only
// kIrqLine, which the VMM's injector raises with KVM_IRQ_LINE. Real-mode memory layout of such
// a VM: IVT at 0 (entry kIrqVector at kIrqIvtEntry), stack below kIrqStackTop, code from
// kCodeBase. The guest writes the IVT entry's offset word last; the injector waits for it.
inline constexpr uint8_t kIrqLine = 5;
inline constexpr uint8_t kIrqVectorBase = 0x20;
inline constexpr uint8_t kIrqVector = kIrqVectorBase + kIrqLine;
inline constexpr uint16_t kIrqIvtEntry = kIrqVector * 4;
inline constexpr uint16_t kIrqStackTop = kCodeBase;
// irq: default bounds of the random interval between two interrupts, in microseconds.
inline constexpr uint32_t kDefaultIrqMinUs = 1000;
inline constexpr uint32_t kDefaultIrqMaxUs = 4000;
inline constexpr uint64_t kDefaultIrqSeed = 1;  // --seed

enum class ProgramKind { kIo, kCpuid, kHlt, kCompute, kIoStorm, kCpuidStorm, kDuty, kIrq };

struct ProgramSpec {
  ProgramKind kind = ProgramKind::kIo;
  uint32_t count = 0;     // N for io/cpuid/hlt; MS for compute/iostorm/cpuidstorm/duty/irq
  uint32_t per_tick = 0;  // compute, duty: ITERS per tick; cpuidstorm: cpuids per tick; else 0
  uint32_t min_us = 0;    // irq: interval between interrupts, uniform in [min_us, max_us]
  uint32_t max_us = 0;
  std::string text;  // the spec as given, e.g. "io:1000"

  // True for programs that run until the VMM stops them after `count` ms.
  bool Timed() const;
};

// Parses a decimal number in [1, kMaxNumber]; no sign, no spaces, no hex.
std::optional<uint32_t> ParseNumber(std::string_view text);

// Parses one program spec such as "io:1000" or "compute:300:500000". On failure returns
// nullopt and sets *error to a message naming the bad spec.
std::optional<ProgramSpec> ParseProgram(std::string_view text, std::string* error);

// Machine code of the program (16-bit real mode, position independent, at most kCodeStride
// bytes). The guest keeps its own iteration counter in ESI (see README in guest_programs.cpp).
std::vector<uint8_t> EncodeProgram(const ProgramSpec& spec);

// True for programs that may share a VM with an irq: vCPU. Such a VM has an in-kernel irqchip,
// where hlt does not exit to userspace, so only programs that never hlt can be stopped there.
bool NeverHalts(ProgramKind kind);

// Offset of the irq program's interrupt handler in EncodeProgram's output.
size_t IrqHandlerOffset();

// Offset of the 32-bit little-endian immediate that holds N (io/cpuid/hlt), ITERS (compute, duty)
// or PER (cpuidstorm) in EncodeProgram's output; nullopt for iostorm and irq, which have none.
std::optional<size_t> ImmediateOffset(ProgramKind kind);

}  // namespace kq
