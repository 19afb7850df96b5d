#include "exit_policy.hpp"

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

IoExit Out(uint16_t port, uint8_t size, uint32_t value) {
  return IoExit{port, true, size, 1, value};
}

// Runs the encoded program in the simulator as the VMM would run it under KVM: CPUIDs stay
// "in the kernel", outs and hlts go to the policy. elapsed_ms is taken from `clock(exit #)`.
struct Result {
  Verdict last;
  bool finished;
  ExitPolicy policy;
};

Result Drive(const std::string& text, double ms_per_exit = 0) {
  const ProgramSpec spec = Parse(text);
  X86Sim sim(EncodeProgram(spec));
  ExitPolicy policy(spec);
  Verdict v = Verdict::kReenter;
  for (int exits = 0; v == Verdict::kReenter && exits < 1'000'000;) {
    const SimEvent ev = sim.Next();
    if (ev.kind == SimEvent::kCpuid) continue;
    ++exits;
    v = ev.kind == SimEvent::kHlt
            ? policy.OnHlt()
            : policy.OnIo(Out(ev.port, ev.size, ev.value), exits * ms_per_exit);
  }
  const bool finished = v == Verdict::kStop && policy.Finish(sim.reg(X86Sim::kEsi));
  return {v, finished, policy};
}

TEST(ExitPolicy, Io) {
  Result r = Drive("io:2000");
  ASSERT_TRUE(r.finished) << r.policy.error();
  EXPECT_EQ(r.policy.counts().io, 2000u);
  EXPECT_EQ(r.policy.counts().io_data, 2000u);
  EXPECT_EQ(r.policy.counts().hlt, 1u);
  EXPECT_EQ(r.policy.guest_iterations(), 2000u);
}

TEST(ExitPolicy, Cpuid) {
  Result r = Drive("cpuid:5000");
  ASSERT_TRUE(r.finished) << r.policy.error();
  EXPECT_EQ(r.policy.counts().io, 1u);
  EXPECT_EQ(r.policy.counts().io_done, 1u);
  EXPECT_EQ(r.policy.counts().hlt, 1u);
  EXPECT_EQ(r.policy.guest_iterations(), 5000u);
}

TEST(ExitPolicy, HltCountsLoopHltsPlusFinal) {
  Result r = Drive("hlt:50");
  ASSERT_TRUE(r.finished) << r.policy.error();
  EXPECT_EQ(r.policy.counts().hlt, 51u);
  EXPECT_EQ(r.policy.counts().io_done, 1u);
  EXPECT_EQ(r.policy.guest_iterations(), 50u);
}

TEST(ExitPolicy, ComputeStopsAtFirstTickAfterMs) {
  Result r = Drive("compute:300:100", 7.0);  // ticks at 7, 14, ... ms: stop at tick 43 (301 ms)
  ASSERT_TRUE(r.finished) << r.policy.error();
  EXPECT_EQ(r.policy.counts().io_tick, 43u);
  EXPECT_EQ(r.policy.counts().hlt, 0u);
  EXPECT_EQ(r.policy.guest_iterations(), 4300u);
}

TEST(ExitPolicy, DutyIsComputeThatSleepsOncePerCycle) {
  Result r = Drive("duty:300:100", 7.0);  // compute's exits, stopped the same way
  ASSERT_TRUE(r.finished) << r.policy.error();
  EXPECT_EQ(r.policy.counts().io_tick, 43u);
  EXPECT_EQ(r.policy.guest_iterations(), 4300u);

  ExitPolicy p(Parse("duty:1000:10"));
  // Cycle 1 began at 0: no sleep before kDutyRunMs, one at the first exit from then on.
  EXPECT_EQ(p.SleepAfterExit(0), 0);
  EXPECT_EQ(p.SleepAfterExit(kDutyRunMs - 0.5), 0);
  EXPECT_EQ(p.SleepAfterExit(kDutyRunMs + 1), kDutySleepMs);
  // Cycle 2 begins when that sleep ends: its run phase is kDutyRunMs long again.
  const double c2 = kDutyRunMs + 1 + kDutySleepMs;
  EXPECT_EQ(p.SleepAfterExit(c2 + 1), 0);
  EXPECT_EQ(p.SleepAfterExit(c2 + kDutyRunMs - 0.5), 0);
  EXPECT_EQ(p.SleepAfterExit(c2 + kDutyRunMs), kDutySleepMs);
  EXPECT_EQ(p.counts().duty_sleeps, 2u);
  // Other programs never sleep.
  ExitPolicy q(Parse("compute:1000:10"));
  EXPECT_EQ(q.SleepAfterExit(10 * kDutyRunMs), 0);
  EXPECT_EQ(q.counts().duty_sleeps, 0u);
}

TEST(ExitPolicy, IoStormStopsAtFirstExitAfterMs) {
  Result r = Drive("iostorm:10", 0.5);
  ASSERT_TRUE(r.finished) << r.policy.error();
  EXPECT_EQ(r.policy.counts().io_data, 20u);
  EXPECT_EQ(r.policy.guest_iterations(), 20u);
}

TEST(ExitPolicy, CpuidStorm) {
  Result r = Drive("cpuidstorm:5:10", 1.0);
  ASSERT_TRUE(r.finished) << r.policy.error();
  EXPECT_EQ(r.policy.counts().io_tick, 5u);
  EXPECT_EQ(r.policy.guest_iterations(), 50u);
}

TEST(ExitPolicy, RejectsUnexpectedExits) {
  {
    ExitPolicy p(Parse("io:3"));
    EXPECT_EQ(p.OnIo(Out(0x20, 1, kDataByte), 0), Verdict::kError);  // wrong port
    EXPECT_NE(p.error().find("port 0x20"), std::string::npos) << p.error();
  }
  {
    ExitPolicy p(Parse("io:3"));
    EXPECT_EQ(p.OnIo(Out(kDataPort, 2, kDataByte), 0), Verdict::kError);  // wrong size
  }
  {
    ExitPolicy p(Parse("io:3"));
    EXPECT_EQ(p.OnIo(IoExit{kDataPort, false, 1, 1, 0}, 0), Verdict::kError);  // in, not out
  }
  {
    ExitPolicy p(Parse("io:3"));
    EXPECT_EQ(p.OnIo(Out(kDataPort, 1, kDataByte), 0), Verdict::kReenter);
    EXPECT_EQ(p.OnHlt(), Verdict::kError);  // hlt after 1 of 3 outs
  }
  {
    ExitPolicy p(Parse("io:1"));
    EXPECT_EQ(p.OnIo(Out(kDataPort, 1, kDataByte), 0), Verdict::kReenter);
    EXPECT_EQ(p.OnIo(Out(kDataPort, 1, kDataByte), 0), Verdict::kError);  // more than N
  }
  {
    ExitPolicy p(Parse("cpuid:3"));
    EXPECT_EQ(p.OnHlt(), Verdict::kError);  // hlt before done
  }
  {
    ExitPolicy p(Parse("cpuid:3"));
    EXPECT_EQ(p.OnIo(Out(kDonePort, 4, 3), 0), Verdict::kReenter);
    EXPECT_EQ(p.OnIo(Out(kDonePort, 4, 3), 0), Verdict::kError);  // done twice
  }
  {
    ExitPolicy p(Parse("cpuid:3"));
    EXPECT_EQ(p.OnIo(Out(kDonePort, 4, 2), 0), Verdict::kReenter);
    EXPECT_EQ(p.OnHlt(), Verdict::kStop);
    EXPECT_FALSE(p.Finish(2));  // done value != N
  }
  {
    ExitPolicy p(Parse("compute:1:10"));
    EXPECT_EQ(p.OnHlt(), Verdict::kError);
    ExitPolicy q(Parse("compute:1:10"));
    EXPECT_EQ(q.OnIo(Out(kTickPort, 4, 2), 5), Verdict::kError);  // tick value skips one
  }
  {
    ExitPolicy p(Parse("iostorm:1"));
    EXPECT_EQ(p.OnIo(Out(kDataPort, 1, kDataByte), 5), Verdict::kStop);
    EXPECT_FALSE(p.Finish(7));  // ESI disagrees with the exits seen
    EXPECT_NE(p.error().find("ESI"), std::string::npos);
  }
}

// irq: the PIC's ports stay in KVM, so the policy sees only the handler's answers.
TEST(ExitPolicy, IrqAnswers) {
  const ProgramSpec spec = Parse("irq:100");
  X86Sim sim(EncodeProgram(spec), kCodeBase);
  ExitPolicy policy(spec);
  while (sim.Next().kind != SimEvent::kHlt) {
  }
  for (uint32_t i = 1; i <= 50; ++i) {
    sim.Interrupt(kIrqVector);
    const SimEvent ev = sim.Next();
    ASSERT_EQ(ev.kind, SimEvent::kOut);
    // Long after MS: irq is stopped by its injector, never by an exit.
    ASSERT_EQ(policy.OnIo(Out(ev.port, ev.size, ev.value), 1e6), Verdict::kReenter) << i;
    while (sim.Next().kind != SimEvent::kHlt) {
    }
  }
  EXPECT_EQ(policy.counts().io_answer, 50u);
  EXPECT_EQ(policy.counts().io, 50u);
  ASSERT_TRUE(policy.Finish(sim.reg(X86Sim::kEsi))) << policy.error();
  EXPECT_EQ(policy.guest_iterations(), 50u);
}

TEST(ExitPolicy, IrqRejects) {
  {
    ExitPolicy p(Parse("irq:10"));
    EXPECT_EQ(p.OnHlt(), Verdict::kError);  // hlt stays in KVM with the irqchip
  }
  {
    ExitPolicy p(Parse("irq:10"));
    EXPECT_EQ(p.OnIo(Out(kAnswerPort, 4, 1), 0), Verdict::kReenter);
    EXPECT_EQ(p.OnIo(Out(kAnswerPort, 4, 3), 0), Verdict::kError);  // skips an answer
  }
  {
    ExitPolicy p(Parse("irq:10"));
    EXPECT_EQ(p.OnIo(Out(kAnswerPort, 2, 1), 0), Verdict::kError);  // wrong size
    ExitPolicy q(Parse("irq:10"));
    EXPECT_EQ(q.OnIo(Out(kTickPort, 4, 1), 0), Verdict::kError);  // not irq's port
    ExitPolicy r(Parse("compute:10"));
    EXPECT_EQ(r.OnIo(Out(kAnswerPort, 4, 1), 0), Verdict::kError);  // not compute's
  }
  {
    ExitPolicy p(Parse("irq:10"));
    EXPECT_EQ(p.OnIo(Out(kAnswerPort, 4, 1), 0), Verdict::kReenter);
    EXPECT_FALSE(p.Finish(2));  // ESI disagrees with the answers seen
  }
}

}  // namespace
}  // namespace kq
