#include "guest_programs.hpp"

#include <gtest/gtest.h>

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
                          "io:1,"}) {
    std::string error;
    EXPECT_FALSE(ParseProgram(bad, &error).has_value()) << bad;
    EXPECT_NE(error.find("bad program"), std::string::npos) << bad << ": " << error;
  }
  std::string error;
  ParseProgram("frob:3", &error);
  EXPECT_NE(error.find("unknown program 'frob'"), std::string::npos) << error;
  ParseProgram("io", &error);
  EXPECT_NE(error.find("missing number"), std::string::npos) << error;
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
  for (const char* p : {"io:5", "cpuid:5", "hlt:5", "compute:5", "iostorm:5", "cpuidstorm:5"}) {
    EXPECT_LE(EncodeProgram(Parse(p)).size(), kCodeStride) << p;
  }
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

}  // namespace
}  // namespace kq
