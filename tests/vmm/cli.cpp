#include "cli.hpp"

#include <sched.h>

#include <charconv>
#include <string_view>

namespace kq {
namespace {

// Parses "--vm" PROGS: comma-separated, at least one program, no empty entries.
bool ParseVm(const std::string& progs, std::vector<ProgramSpec>* out, std::string* error) {
  if (progs.empty()) {
    *error = "--vm: empty program list";
    return false;
  }
  size_t start = 0;
  while (true) {
    const size_t comma = progs.find(',', start);
    const std::string_view item = std::string_view(progs).substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    std::string why;
    auto spec = ParseProgram(item, &why);
    if (!spec) {
      *error = "--vm '" + progs + "': " + why;
      return false;
    }
    out->push_back(*spec);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out->size() > static_cast<size_t>(kMaxVcpusPerVm)) {
    *error = "--vm '" + progs + "': more than " + std::to_string(kMaxVcpusPerVm) + " vCPUs";
    return false;
  }
  // irq needs the PIC's output, which reaches only the BSP (LAPIC LINT0 is ExtINT after reset
  // on vCPU 0 alone); and its VM's in-kernel irqchip keeps hlt in KVM, so the other vCPUs there
  // must be programs that stop without a hlt exit.
  for (size_t i = 1; i < out->size(); ++i) {
    if ((*out)[i].kind == ProgramKind::kIrq) {
      *error = "--vm '" + progs +
               "': irq: only on vCPU 0 of a VM (the first program); it is vCPU " +
               std::to_string(i) + " here";
      return false;
    }
  }
  if ((*out)[0].kind == ProgramKind::kIrq) {
    for (size_t i = 1; i < out->size(); ++i) {
      if (!NeverHalts((*out)[i].kind)) {
        *error = "--vm '" + progs + "': '" + (*out)[i].text +
                 "' cannot share a VM with irq: (in-kernel irqchip: hlt does not exit to the "
                 "VMM); use compute, iostorm, cpuidstorm or duty";
        return false;
      }
    }
  }
  return true;
}

// Decimal uint64 (no sign, no spaces).
std::optional<uint64_t> ParseU64(const std::string& s) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// Decimal integer in [lo, hi].
std::optional<int> ParseInt(const std::string& s, int lo, int hi) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

}  // namespace

std::string UsageText() {
  return "usage: kq-testvmm [--vm PROGS]... [--pin CPU] [--report FILE] [--hold-file PATH]\n"
         "                  [--timeout SEC] [--cycles N] [--close-during-run MS]\n"
         "                  [--switch-thread] [--mark] [--injector-cpu CPU] [--seed N]\n"
         "                  [-name VALUE]\n"
         "  --vm PROGS       add a VM; PROGS = comma-separated programs, one per vCPU:\n"
         "                   io:N cpuid:N hlt:N compute:MS[:ITERS] iostorm:MS\n"
         "                   cpuidstorm:MS[:PER] duty:MS[:ITERS] irq:MS[:MINUS:MAXUS]\n"
         "                   (numbers decimal, 1..2147483648). irq: vCPU 0 only; its VM\n"
         "                   gets an in-kernel irqchip; an injector thread raises IRQ 5 every\n"
         "                   MINUS..MAXUS us (default 1000..4000) for MS ms and reports the\n"
         "                   latency to the guest's answer (\"latency\" in the report)\n"
         "  --pin CPU        pin every vCPU thread to CPU\n"
         "  --injector-cpu CPU  pin the irq injector threads to CPU (default: unpinned)\n"
         "  --seed N         seed of the irq intervals (decimal uint64, default 1)\n"
         "  --report FILE    also write the JSON report to FILE (atomically)\n"
         "  --hold-file PATH after the report keep the VM/vCPU fds open until PATH exists\n"
         "  --timeout SEC    overall timeout (default 120), exit 3 on expiry\n"
         "  --cycles N       create, run and tear down the VMs N times (default 1); the report\n"
         "                   is the last cycle's\n"
         "  --close-during-run MS  MS ms after every vCPU has exited to the VMM once, another\n"
         "                   thread drops the vCPU and VM fds (and the kvm_run mappings) while\n"
         "                   the vCPU threads are in KVM_RUN; each vCPU then stops (\"closed\")\n"
         "  --switch-thread  each vCPU is run by a second thread from half its program on\n"
         "                   (timed programs: half the time; others: after the first exit)\n"
         "  --mark           each vCPU thread executes the instruction-count marker (out to\n"
         "                   port 0x9a, tests/tcg/kq_insn.c) just before its first KVM_RUN\n"
         "                   and just after its last; needs ioperm (CAP_SYS_RAWIO)\n"
         "  -name VALUE      as QEMU's (e.g. guest=web): ignored, only there to be seen in\n"
         "                   /proc/PID/cmdline, where quantad and quantactl name the VMs;\n"
         "                   printable, 1..64 characters\n";
}

CliResult ParseCli(const std::vector<std::string>& args) {
  CliOptions opts;
  bool seen_report = false, seen_hold = false, seen_timeout = false;
  bool seen_cycles = false, seen_seed = false;
  auto usage_error = [](const std::string& msg) { return CliResult{std::nullopt, msg}; };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "-name") {  // QEMU's spelling: single dash, value as the next argument
      if (!opts.name.empty()) return usage_error("-name given twice");
      if (i + 1 >= args.size()) return usage_error("-name: missing value");
      const std::string& v = args[++i];
      if (v.empty()) return usage_error("-name: empty value");
      if (v.size() > kMaxNameLen) {
        return usage_error("-name: longer than " + std::to_string(kMaxNameLen) + " characters");
      }
      for (unsigned char c : v) {
        if (c < 0x20 || c > 0x7e) return usage_error("-name: not printable");
      }
      opts.name = v;
      continue;
    }
    if (name == "--help" || name == "-h") {
      opts.help = true;
      continue;
    }
    if (name == "--switch-thread" || name == "--mark") {
      bool& flag = name == "--mark" ? opts.mark : opts.switch_thread;
      if (value) return usage_error(name + " takes no value");
      if (flag) return usage_error(name + " given twice");
      flag = true;
      continue;
    }
    if (name != "--vm" && name != "--pin" && name != "--report" && name != "--hold-file" &&
        name != "--timeout" && name != "--cycles" && name != "--close-during-run" &&
        name != "--injector-cpu" && name != "--seed") {
      return usage_error("unknown argument '" + args[i] + "'");
    }
    if (!value) {
      if (i + 1 >= args.size()) return usage_error(name + ": missing value");
      value = args[++i];
    }
    auto once = [&](bool* seen) {
      const bool first = !*seen;
      *seen = true;
      return first;
    };
    if (name == "--vm") {
      std::vector<ProgramSpec> vm;
      std::string error;
      if (!ParseVm(*value, &vm, &error)) return usage_error(error);
      opts.vms.push_back(std::move(vm));
    } else if (name == "--pin" || name == "--injector-cpu") {
      std::optional<int>& cpu_opt = name == "--pin" ? opts.pin_cpu : opts.injector_cpu;
      if (cpu_opt) return usage_error(name + " given twice");
      auto cpu = ParseInt(*value, 0, CPU_SETSIZE - 1);
      if (!cpu) {
        return usage_error(name + " '" + *value + "': expected a CPU number 0.." +
                           std::to_string(CPU_SETSIZE - 1));
      }
      cpu_opt = *cpu;
    } else if (name == "--seed") {
      if (!once(&seen_seed)) return usage_error("--seed given twice");
      auto seed = ParseU64(*value);
      if (!seed) return usage_error("--seed '" + *value + "': expected a decimal 0..2^64-1");
      opts.seed = *seed;
    } else if (name == "--report") {
      if (!once(&seen_report)) return usage_error("--report given twice");
      if (value->empty()) return usage_error("--report: empty path");
      opts.report_path = *value;
    } else if (name == "--hold-file") {
      if (!once(&seen_hold)) return usage_error("--hold-file given twice");
      if (value->empty()) return usage_error("--hold-file: empty path");
      opts.hold_file = *value;
    } else if (name == "--close-during-run") {
      if (opts.close_during_run_ms) return usage_error("--close-during-run given twice");
      auto ms = ParseInt(*value, 0, kMaxTimeoutSec);
      if (!ms) return usage_error("--close-during-run '" + *value + "': expected milliseconds");
      opts.close_during_run_ms = *ms;
    } else if (name == "--cycles") {
      if (!once(&seen_cycles)) return usage_error("--cycles given twice");
      auto n = ParseInt(*value, 1, kMaxCycles);
      if (!n) {
        return usage_error("--cycles '" + *value + "': expected 1.." + std::to_string(kMaxCycles));
      }
      opts.cycles = *n;
    } else {  // --timeout
      if (!once(&seen_timeout)) return usage_error("--timeout given twice");
      auto sec = ParseInt(*value, 1, kMaxTimeoutSec);
      if (!sec) {
        return usage_error("--timeout '" + *value + "': expected seconds 1.." +
                           std::to_string(kMaxTimeoutSec));
      }
      opts.timeout_sec = *sec;
    }
  }
  if (opts.vms.empty() && !opts.help) return usage_error("at least one --vm is required");
  return CliResult{std::move(opts), ""};
}

}  // namespace kq
