#include "guest_programs.hpp"

#include <gtest/gtest.h>

#include <utility>

#include "x86_sim.hpp"

namespace kq {
namespace {

using testing::SimEvent;
using testing::X86Sim;

ProgramSpec Parse(const std::string& text) {
  std::string error;
  auto spec = ParseProgram(text, &error);
  EXPECT_TRUE(spec.has_value()) << error;
  return spec.value_or(ProgramSpec{});
}

uint32_t ReadLe32(const std::vector<uint8_t>& code, size_t off) {
  return uint32_t{code.at(off)} | uint32_t{code.at(off + 1)} << 8 |
         uint32_t{code.at(off + 2)} << 16 | uint32_t{code.at(off + 3)} << 24;
}

TEST(ParseProgram, Good) {
  ProgramSpec s = Parse("io:1000");
  EXPECT_EQ(s.kind, ProgramKind::kIo);
  EXPECT_EQ(s.count, 1000u);
  EXPECT_EQ(s.text, "io:1000");
  EXPECT_FALSE(s.Timed());
  EXPECT_EQ(Parse("cpuid:5000").kind, ProgramKind::kCpuid);
  EXPECT_EQ(Parse("hlt:1").kind, ProgramKind::kHlt);
  s = Parse("compute:300");
  EXPECT_EQ(s.kind, ProgramKind::kCompute);
  EXPECT_EQ(s.count, 300u);
  EXPECT_EQ(s.per_tick, kDefaultComputeIters);
  EXPECT_TRUE(s.Timed());
  EXPECT_EQ(Parse("compute:300:5000").per_tick, 5000u);
  EXPECT_EQ(Parse("iostorm:10").kind, ProgramKind::kIoStorm);
  s = Parse("cpuidstorm:10");
  EXPECT_EQ(s.per_tick, kDefaultCpuidPerTick);
  EXPECT_EQ(Parse("cpuidstorm:10:7").per_tick, 7u);
  EXPECT_EQ(Parse("io:2147483648").count, 2147483648u);
  s = Parse("duty:6000");
  EXPECT_EQ(s.kind, ProgramKind::kDuty);
  EXPECT_EQ(s.per_tick, kDefaultDutyIters);
  EXPECT_TRUE(s.Timed());
  EXPECT_EQ(Parse("duty:6000:1000").per_tick, 1000u);
  EXPECT_EQ(EncodeProgram(Parse("duty:1:77")), EncodeProgram(Parse("compute:1:77")));
  s = Parse("irq:2000");
  EXPECT_EQ(s.kind, ProgramKind::kIrq);
  EXPECT_EQ(s.count, 2000u);
  EXPECT_EQ(s.min_us, 1000u);
  EXPECT_EQ(s.max_us, 4000u);
  EXPECT_EQ(s.per_tick, 0u);
  EXPECT_TRUE(s.Timed());
  s = Parse("irq:3000:50:70");
  EXPECT_EQ(s.count, 3000u);
  EXPECT_EQ(s.min_us, 50u);
  EXPECT_EQ(s.max_us, 70u);
  EXPECT_EQ(s.text, "irq:3000:50:70");
  s = Parse("irq:1:7:7");  // MINUS == MAXUS: a fixed interval
  EXPECT_EQ(s.min_us, 7u);
  EXPECT_EQ(s.max_us, 7u);
  EXPECT_EQ(Parse("irq:1:1:2147483648").max_us, kMaxNumber);
}

TEST(ParseProgram, Bad) {
  for (const char* bad : {"",
                          "io",
                          "io:",
                          "io:0",
                          "io:-1",
                          "io:+5",
                          "io: 5",
                          "io:5 ",
                          "io:0x10",
                          "io:2147483649",
                          "io:4294967296",
                          "io:99999999999999999999",
                          "foo:1",
                          "IO:1",
                          ":1",
                          "io:1:2",
                          "hlt:1:1",
                          "compute:100:",
                          "compute:100:0",
                          "compute::5",
                          "cpuidstorm:1:2:3",
                          "duty:1:2:3",
                          "duty:1:0",
                          "io:1,",
                          "irq",
                          "irq:",
                          "irq:0",
                          "irq:-1",
                          "irq:1:2",
                          "irq:1:5:4",
                          "irq:1:0:5",
                          "irq:1:5:0",
                          "irq:1::5",
                          "irq:1:2:",
                          "irq:1:2:3:4",
                          "irq:1:2:2147483649",
                          "irq:0x10"}) {
    std::string error;
    EXPECT_FALSE(ParseProgram(bad, &error).has_value()) << bad;
    EXPECT_NE(error.find("bad program"), std::string::npos) << bad << ": " << error;
  }
  std::string error;
  ParseProgram("frob:3", &error);
  EXPECT_NE(error.find("unknown program 'frob'"), std::string::npos) << error;
  ParseProgram("io", &error);
  EXPECT_NE(error.find("missing number"), std::string::npos) << error;
  ParseProgram("irq:10:500", &error);
  EXPECT_NE(error.find("irq:MS:MINUS:MAXUS"), std::string::npos) << error;
  ParseProgram("irq:10:500:400", &error);
  EXPECT_NE(error.find("MINUS 500 > MAXUS 400"), std::string::npos) << error;
}

TEST(ParseNumber, Range) {
  EXPECT_EQ(ParseNumber("1"), 1u);
  EXPECT_EQ(ParseNumber("0001"), 1u);
  EXPECT_EQ(ParseNumber("2147483648"), kMaxNumber);
  EXPECT_FALSE(ParseNumber("0"));
  EXPECT_FALSE(ParseNumber("2147483649"));
  EXPECT_FALSE(ParseNumber("18446744073709551617"));
  EXPECT_FALSE(ParseNumber("-3"));
  EXPECT_FALSE(ParseNumber(""));
  EXPECT_FALSE(ParseNumber("1e3"));
}

TEST(EncodeProgram, IoImmediateAndHlt) {
  for (uint32_t n : {1u, 1000u, 0x12345678u, kMaxNumber}) {
    const auto code = EncodeProgram(Parse("io:" + std::to_string(n)));
    ASSERT_EQ(ImmediateOffset(ProgramKind::kIo), 5u);
    EXPECT_EQ(ReadLe32(code, 5), n);
    EXPECT_EQ(code[3], 0x66);  // operand-size prefix: 32-bit loop counter
    EXPECT_EQ(code[4], 0xB9);  // mov ecx, imm32
    EXPECT_EQ(code.back(), 0xF4);
  }
  // Exact bytes of io:1000, hand-checked.
  const std::vector<uint8_t> expected = {0x66, 0x31, 0xF6,                    // xor esi, esi
                                         0x66, 0xB9, 0xE8, 0x03, 0x00, 0x00,  // mov ecx, 1000
                                         0xBA, 0x10, 0x00,                    // mov dx, 0x10
                                         0xB0, 0x5A,                          // mov al, 0x5a
                                         0x66, 0x46,                          // loop: inc esi
                                         0xEE,                                // out dx, al
                                         0x66, 0x49,                          // dec ecx
                                         0x75, 0xF9,                          // jnz loop
                                         0xF4};                               // hlt
  EXPECT_EQ(EncodeProgram(Parse("io:1000")), expected);
}

TEST(EncodeProgram, ImmediatesOfOtherPrograms) {
  EXPECT_EQ(ReadLe32(EncodeProgram(Parse("cpuid:77777")), *ImmediateOffset(ProgramKind::kCpuid)),
            77777u);
  EXPECT_EQ(ReadLe32(EncodeProgram(Parse("hlt:50")), *ImmediateOffset(ProgramKind::kHlt)), 50u);
  EXPECT_EQ(
      ReadLe32(EncodeProgram(Parse("compute:300:123456")), *ImmediateOffset(ProgramKind::kCompute)),
      123456u);
  EXPECT_EQ(ReadLe32(EncodeProgram(Parse("cpuidstorm:9:4242")),
                     *ImmediateOffset(ProgramKind::kCpuidStorm)),
            4242u);
  EXPECT_FALSE(ImmediateOffset(ProgramKind::kIoStorm));
  EXPECT_EQ(EncodeProgram(Parse("cpuid:3")).back(), 0xF4);
  EXPECT_EQ(EncodeProgram(Parse("hlt:3")).back(), 0xF4);
}

TEST(EncodeProgram, AllFitTheirCodeArea) {
  for (const char* p :
       {"io:5", "cpuid:5", "hlt:5", "compute:5", "iostorm:5", "cpuidstorm:5", "irq:5"}) {
    EXPECT_LE(EncodeProgram(Parse(p)).size(), kCodeStride) << p;
  }
}

TEST(EncodeProgram, IrqBytes) {
  // Hand-checked against the Intel SDM encodings.
  const std::vector<uint8_t> expected = {
      0x66, 0x31, 0xF6,                    // 0: xor esi, esi
      0x31, 0xC0,                          // 3: xor ax, ax
      0x8E, 0xD8,                          // 5: mov ds, ax
      0x8E, 0xD0,                          // 7: mov ss, ax
      0xBC, 0x00, 0x10,                    // 9: mov sp, 0x1000
      0xB0, 0x11, 0xE6, 0x20,              // 12: ICW1 -> 0x20
      0xB0, 0x20, 0xE6, 0x21,              // 16: ICW2 (vector base 0x20) -> 0x21
      0xB0, 0x04, 0xE6, 0x21,              // 20: ICW3
      0xB0, 0x01, 0xE6, 0x21,              // 24: ICW4
      0xB0, 0xDF, 0xE6, 0x21,              // 28: OCW1: all masked but IRQ 5
      0xB0, 0xFF, 0xE6, 0xA1,              // 32: slave all masked
      0xE8, 0x00, 0x00,                    // 36: call 39
      0x5B,                                // 39: pop bx
      0x83, 0xC3, 0x12,                    // 40: add bx, 18 (57 - 39)
      0xC7, 0x06, 0x96, 0x00, 0x00, 0x00,  // 43: mov word [0x96], 0
      0x89, 0x1E, 0x94, 0x00,              // 49: mov [0x94], bx
      0xFB,                                // 53: sti
      0xF4,                                // 54: hlt
      0xEB, 0xFD,                          // 55: jmp 54
      0x66, 0x46,                          // 57: handler: inc esi
      0xBA, 0x13, 0x00,                    // 59: mov dx, 0x13
      0x66, 0x89, 0xF0,                    // 62: mov eax, esi
      0x66, 0xEF,                          // 65: out dx, eax
      0xB0, 0x20, 0xE6, 0x20,              // 67: EOI
      0xCF};                               // 71: iret
  EXPECT_EQ(EncodeProgram(Parse("irq:10")), expected);
  EXPECT_EQ(EncodeProgram(Parse("irq:99:5:6")), expected);  // the VMM times, not the guest
  EXPECT_EQ(IrqHandlerOffset(), 57u);
  EXPECT_EQ(kIrqIvtEntry, 0x94);
  EXPECT_FALSE(ImmediateOffset(ProgramKind::kIrq));
  // The stack (below kIrqStackTop) and the IVT entry stay clear of every vCPU's code.
  EXPECT_LE(kIrqStackTop, kCodeBase);
  EXPECT_LT(kIrqIvtEntry + 4u, kIrqStackTop - 64u);
  EXPECT_TRUE(NeverHalts(ProgramKind::kCompute));
  EXPECT_TRUE(NeverHalts(ProgramKind::kIoStorm));
  EXPECT_FALSE(NeverHalts(ProgramKind::kHlt));
  EXPECT_FALSE(NeverHalts(ProgramKind::kIo));
  EXPECT_FALSE(NeverHalts(ProgramKind::kIrq));
}

// The following run the encoded bytes in X86Sim: wrong jump offsets, registers or operand
// sizes change the sequence of events.

TEST(SimulatedGuest, IoMakesNOutsThenHlt) {
  X86Sim sim(EncodeProgram(Parse("io:300")));
  for (uint32_t i = 1; i <= 300; ++i) {
    const SimEvent ev = sim.Next();
    ASSERT_EQ(ev.kind, SimEvent::kOut) << i;
    EXPECT_EQ(ev.port, kDataPort);
    EXPECT_EQ(ev.size, 1);
    EXPECT_EQ(ev.value, kDataByte);
    EXPECT_EQ(sim.reg(X86Sim::kEsi), i);  // incremented before the out
  }
  EXPECT_EQ(sim.Next().kind, SimEvent::kHlt);
  EXPECT_EQ(sim.reg(X86Sim::kEsi), 300u);
  EXPECT_EQ(sim.ip(), EncodeProgram(Parse("io:300")).size());
}

TEST(SimulatedGuest, IoCounterIs32Bit) {
  // 70000 > 65535: a 16-bit counter would stop early.
  X86Sim sim(EncodeProgram(Parse("io:70000")));
  uint32_t outs = 0;
  for (SimEvent ev = sim.Next(); ev.kind == SimEvent::kOut; ev = sim.Next()) ++outs;
  EXPECT_EQ(outs, 70000u);
  EXPECT_EQ(sim.reg(X86Sim::kEsi), 70000u);
}

TEST(SimulatedGuest, CpuidLoopThenDoneThenHlt) {
  X86Sim sim(EncodeProgram(Parse("cpuid:70001")));
  for (uint32_t i = 0; i < 70001; ++i) ASSERT_EQ(sim.Next().kind, SimEvent::kCpuid) << i;
  const SimEvent done = sim.Next();
  ASSERT_EQ(done.kind, SimEvent::kOut);
  EXPECT_EQ(done.port, kDonePort);
  EXPECT_EQ(done.size, 4);
  EXPECT_EQ(done.value, 70001u);
  EXPECT_EQ(sim.Next().kind, SimEvent::kHlt);
}

TEST(SimulatedGuest, HltLoopThenDoneThenFinalHlt) {
  X86Sim sim(EncodeProgram(Parse("hlt:50")));
  for (uint32_t i = 0; i < 50; ++i) {
    ASSERT_EQ(sim.Next().kind, SimEvent::kHlt) << i;
    EXPECT_EQ(sim.reg(X86Sim::kEsi), i);
  }
  const SimEvent done = sim.Next();
  ASSERT_EQ(done.kind, SimEvent::kOut);
  EXPECT_EQ(done.port, kDonePort);
  EXPECT_EQ(done.value, 50u);
  EXPECT_EQ(sim.Next().kind, SimEvent::kHlt);
  EXPECT_EQ(sim.ip(), EncodeProgram(Parse("hlt:50")).size());
}

TEST(SimulatedGuest, ComputeTicksEveryItersIterations) {
  X86Sim sim(EncodeProgram(Parse("compute:1:1000")));
  uint64_t last = 0;
  for (uint32_t tick = 1; tick <= 5; ++tick) {
    const SimEvent ev = sim.Next();
    ASSERT_EQ(ev.kind, SimEvent::kOut);
    EXPECT_EQ(ev.port, kTickPort);
    EXPECT_EQ(ev.size, 4);
    EXPECT_EQ(ev.value, tick);
    // 4 instructions per iteration plus a few per tick: proves ITERS iterations per tick.
    const uint64_t per_tick = sim.instructions() - last;
    last = sim.instructions();
    EXPECT_GE(per_tick, 4000u);
    EXPECT_LE(per_tick, 4010u);
  }
}

TEST(SimulatedGuest, IoStormIsEndless) {
  X86Sim sim(EncodeProgram(Parse("iostorm:1")));
  for (uint32_t i = 1; i <= 1000; ++i) {
    const SimEvent ev = sim.Next();
    ASSERT_EQ(ev.kind, SimEvent::kOut);
    EXPECT_EQ(ev.port, kDataPort);
    EXPECT_EQ(ev.size, 1);
    EXPECT_EQ(sim.reg(X86Sim::kEsi), i);
  }
}

TEST(SimulatedGuest, CpuidStormTicksEveryPerCpuids) {
  X86Sim sim(EncodeProgram(Parse("cpuidstorm:1:10")));
  for (uint32_t tick = 1; tick <= 4; ++tick) {
    for (int i = 0; i < 10; ++i) ASSERT_EQ(sim.Next().kind, SimEvent::kCpuid);
    const SimEvent ev = sim.Next();
    ASSERT_EQ(ev.kind, SimEvent::kOut);
    EXPECT_EQ(ev.port, kTickPort);  // dx reloaded after cpuid clobbered it
    EXPECT_EQ(ev.value, tick * 10);
  }
}

// Runs irq's set-up to its hlt: the PIC programming (the outs the kernel's PIC sees), then
// the IVT entry for kIrqVector, with interrupts enabled.
void RunIrqSetUp(X86Sim& sim, uint16_t load) {
  const std::vector<std::pair<uint16_t, uint32_t>> pic = {{0x20, 0x11}, {0x21, 0x20}, {0x21, 0x04},
                                                          {0x21, 0x01}, {0x21, 0xDF}, {0xA1, 0xFF}};
  for (const auto& [port, value] : pic) {
    const SimEvent ev = sim.Next();
    ASSERT_EQ(ev.kind, SimEvent::kOut);
    EXPECT_EQ(ev.port, port);
    EXPECT_EQ(ev.size, 1);
    EXPECT_EQ(ev.value, value);
  }
  ASSERT_EQ(sim.Next().kind, SimEvent::kHlt);
  EXPECT_TRUE(sim.interrupts_enabled());
  EXPECT_EQ(sim.word(kIrqIvtEntry), load + IrqHandlerOffset());
  EXPECT_EQ(sim.word(kIrqIvtEntry + 2), 0);
  EXPECT_EQ(sim.reg(X86Sim::kEsi), 0u);
  EXPECT_EQ(sim.reg(X86Sim::kEsp) & 0xFFFF, kIrqStackTop);  // call and pop balanced
}

TEST(SimulatedGuest, IrqAnswersEveryInterrupt) {
  for (const uint16_t load : {uint16_t{kCodeBase}, uint16_t(kCodeBase + 5 * kCodeStride)}) {
    X86Sim sim(EncodeProgram(Parse("irq:1")), load);
    RunIrqSetUp(sim, load);
    const size_t idle_ip = sim.ip();  // just after the hlt
    for (uint32_t i = 1; i <= 1000; ++i) {
      sim.Interrupt(kIrqVector);
      const SimEvent answer = sim.Next();
      ASSERT_EQ(answer.kind, SimEvent::kOut) << i;
      EXPECT_EQ(answer.port, kAnswerPort);
      EXPECT_EQ(answer.size, 4);
      EXPECT_EQ(answer.value, i);  // 32-bit ESI, counted by the handler
      const SimEvent eoi = sim.Next();
      ASSERT_EQ(eoi.kind, SimEvent::kOut);
      EXPECT_EQ(eoi.port, 0x20);
      EXPECT_EQ(eoi.value, 0x20u);
      ASSERT_EQ(sim.Next().kind, SimEvent::kIret);
      EXPECT_TRUE(sim.interrupts_enabled());
      EXPECT_EQ(sim.reg(X86Sim::kEsp) & 0xFFFF, kIrqStackTop);
      ASSERT_EQ(sim.Next().kind, SimEvent::kHlt);  // back to the idle loop
      EXPECT_EQ(sim.ip(), idle_ip);
    }
  }
}

}  // namespace
}  // namespace kq
