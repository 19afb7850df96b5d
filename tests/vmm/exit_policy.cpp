#include "exit_policy.hpp"

#include <cstdio>

namespace kq {
namespace {

std::string Describe(const IoExit& io, uint64_t n) {
  char buf[128];
  snprintf(buf, sizeof buf, "io exit #%llu (port 0x%x, %s, size %u, count %u)",
           static_cast<unsigned long long>(n), io.port, io.out ? "out" : "in", io.size, io.count);
  return buf;
}

}  // namespace

Verdict ExitPolicy::Fail(const std::string& why) {
  error_ = "guest '" + spec_.text + "': " + why;
  return Verdict::kError;
}

Verdict ExitPolicy::OnIo(const IoExit& io, double elapsed_ms) {
  ++counts_.io;
  const std::string where = Describe(io, counts_.io);
  if (!io.out || io.count != 1) return Fail("unexpected " + where);
  const ProgramKind k = spec_.kind;
  const bool timed_out = elapsed_ms >= static_cast<double>(spec_.count);
  switch (io.port) {
    case kDataPort:
      if ((k != ProgramKind::kIo && k != ProgramKind::kIoStorm) || io.size != 1 ||
          io.value != kDataByte) {
        return Fail("unexpected " + where);
      }
      ++counts_.io_data;
      if (k == ProgramKind::kIo) {
        return counts_.io_data <= spec_.count ? Verdict::kReenter
                                              : Fail("more than N outs: " + where);
      }
      return timed_out ? Verdict::kStop : Verdict::kReenter;
    case kDonePort:
      if ((k != ProgramKind::kCpuid && k != ProgramKind::kHlt) || io.size != 4 || done_seen_) {
        return Fail("unexpected " + where);
      }
      ++counts_.io_done;
      done_seen_ = true;
      done_value_ = io.value;
      return Verdict::kReenter;  // the final hlt follows
    case kTickPort: {
      if ((k != ProgramKind::kCompute && k != ProgramKind::kCpuidStorm &&
           k != ProgramKind::kDuty) ||
          io.size != 4) {
        return Fail("unexpected " + where);
      }
      ++counts_.io_tick;
      const uint64_t per = k == ProgramKind::kCpuidStorm ? spec_.per_tick : 1;
      const uint32_t expected = static_cast<uint32_t>(counts_.io_tick * per);
      if (io.value != expected) {
        return Fail("tick value " + std::to_string(io.value) + ", expected " +
                    std::to_string(expected) + " at " + where);
      }
      return timed_out ? Verdict::kStop : Verdict::kReenter;
    }
    case kAnswerPort:
      if (k != ProgramKind::kIrq || io.size != 4) return Fail("unexpected " + where);
      ++counts_.io_answer;
      if (io.value != static_cast<uint32_t>(counts_.io_answer)) {
        return Fail("answer value " + std::to_string(io.value) + ", expected " +
                    std::to_string(counts_.io_answer) + " at " + where);
      }
      return Verdict::kReenter;  // the injector stops the vCPU, not an exit
    default:
      return Fail("unexpected " + where);
  }
}

Verdict ExitPolicy::OnHlt() {
  ++counts_.hlt;
  switch (spec_.kind) {
    case ProgramKind::kIo:
      if (counts_.io_data == spec_.count) return Verdict::kStop;
      return Fail("hlt after " + std::to_string(counts_.io_data) + " of " +
                  std::to_string(spec_.count) + " outs");
    case ProgramKind::kCpuid:
      if (done_seen_) return Verdict::kStop;
      return Fail("hlt before the done port was written");
    case ProgramKind::kHlt:
      if (done_seen_) return Verdict::kStop;  // the final hlt after the loop
      if (++loop_hlts_ > spec_.count) return Fail("more than N hlts before done");
      return Verdict::kReenter;
    default:
      return Fail("unexpected hlt exit #" + std::to_string(counts_.hlt));
  }
}

bool ExitPolicy::Finish(uint32_t esi) {
  uint64_t expected = 0;
  switch (spec_.kind) {
    case ProgramKind::kIo:
      expected = spec_.count;
      break;
    case ProgramKind::kCpuid:
    case ProgramKind::kHlt:
      if (done_value_ != spec_.count) {
        Fail("done value " + std::to_string(done_value_) + ", expected " +
             std::to_string(spec_.count));
        return false;
      }
      if (spec_.kind == ProgramKind::kHlt && loop_hlts_ != spec_.count) {
        Fail("saw " + std::to_string(loop_hlts_) + " loop hlts, expected " +
             std::to_string(spec_.count));
        return false;
      }
      expected = spec_.count;
      break;
    case ProgramKind::kCompute:
    case ProgramKind::kDuty:
      expected = counts_.io_tick;
      break;
    case ProgramKind::kIoStorm:
      expected = counts_.io_data;
      break;
    case ProgramKind::kCpuidStorm:
      expected = counts_.io_tick * spec_.per_tick;
      break;
    case ProgramKind::kIrq:
      expected = counts_.io_answer;
      break;
  }
  if (esi != static_cast<uint32_t>(expected)) {
    Fail("guest counter ESI = " + std::to_string(esi) + ", expected " + std::to_string(expected));
    return false;
  }
  guest_iterations_ = spec_.kind == ProgramKind::kCompute || spec_.kind == ProgramKind::kDuty
                          ? expected * spec_.per_tick
                          : expected;
  return true;
}

double ExitPolicy::SleepAfterExit(double elapsed_ms) {
  if (spec_.kind != ProgramKind::kDuty || elapsed_ms - cycle_start_ms_ < kDutyRunMs) return 0;
  cycle_start_ms_ = elapsed_ms + kDutySleepMs;
  ++counts_.duty_sleeps;
  return kDutySleepMs;
}

}  // namespace kq
