// Command line of kq-testvmm.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "guest_programs.hpp"

namespace kq {

inline constexpr int kDefaultTimeoutSec = 120;
inline constexpr int kMaxTimeoutSec = 7 * 24 * 3600;
inline constexpr int kMaxCycles = 1000000;
inline constexpr size_t kMaxNameLen = 64;

struct CliOptions {
  std::vector<std::vector<ProgramSpec>> vms;  // one entry per --vm, one program per vCPU
  std::optional<int> pin_cpu;
  std::optional<int> injector_cpu;  // --injector-cpu: where irq injector threads run
  uint64_t seed = kDefaultIrqSeed;  // --seed: irq interval generator
  std::string report_path;          // empty: no report file (JSON still goes to stdout)
  std::string hold_file;            // empty: no holding
  // -name VALUE, QEMU's spelling: only there to be seen in /proc/PID/cmdline, where quantad and
  // quantactl read a VM's name (-name guest=NAME,... or -name NAME); otherwise ignored.
  std::string name;
  int timeout_sec = kDefaultTimeoutSec;
  int cycles = 1;  // --cycles: create, run and tear down the VMs this many times
  std::optional<int> close_during_run_ms;  // --close-during-run MS
  bool switch_thread = false;              // --switch-thread
  bool mark = false;                       // --mark
  bool help = false;
};

struct CliResult {
  std::optional<CliOptions> options;  // nullopt: usage error, see error
  std::string error;
};

// args excludes argv[0]. Options take their value as the next argument or after '=' (but
// -name, as QEMU spells it, only as the next argument).
CliResult ParseCli(const std::vector<std::string>& args);

std::string UsageText();

}  // namespace kq
