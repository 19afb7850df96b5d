// kq-testvmm: runs several small real-mode VMs with several vCPUs each against /dev/kvm and
// reports what each vCPU did. See cli.cpp for the command line, guest_programs.cpp for what
// each guest program does.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <latch>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "guest_programs.hpp"
#include "irq_injector.hpp"
#include "json_report.hpp"
#include "kvm_vm.hpp"
#include "vcpu_runner.hpp"
#include "watchdog.hpp"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitKvm = 1;
constexpr int kExitUsage = 2;

int Fail(const std::string& msg) {
  fprintf(stderr, "kq-testvmm: error: %s\n", msg.c_str());
  return kExitKvm;
}

void WaitForFile(const std::string& path) {
  while (access(path.c_str(), F_OK) != 0) usleep(50 * 1000);
}

// Writes the report (file and stdout), then waits for the hold file if there is one.
int Publish(const kq::CliOptions& opts, const kq::Report& report) {
  const std::string json = kq::ReportToJson(report);
  if (!opts.report_path.empty()) {
    std::string error;
    if (!kq::WriteFileAtomically(opts.report_path, json + "\n", &error)) return Fail(error);
  }
  printf("%s\n", json.c_str());
  fflush(stdout);
  if (!opts.hold_file.empty()) {
    WaitForFile(opts.hold_file);  // vCPU threads are joined; only the fds stay open
  }
  return kExitOk;
}

// One cycle: create every VM and vCPU, run them, tear them down. The last cycle publishes
// its report before the teardown. Returns an exit code.
int RunCycle(const kq::CliOptions& opts, const kq::Kvm& kvm, int devnull, bool last) {
  kq::Report report_storage;
  kq::Report* report = &report_storage;
  std::vector<std::unique_ptr<kq::Vm>> vms;
  size_t nvcpus = 0;
  try {
    for (size_t i = 0; i < opts.vms.size(); ++i) {
      std::vector<std::vector<uint8_t>> code;
      for (const kq::ProgramSpec& spec : opts.vms[i]) code.push_back(kq::EncodeProgram(spec));
      // The CLI allows irq on vCPU 0 only.
      const bool irq = opts.vms[i][0].kind == kq::ProgramKind::kIrq;
      vms.push_back(std::make_unique<kq::Vm>(kvm, static_cast<int>(i), code, irq));
      nvcpus += opts.vms[i].size();
    }
  } catch (const kq::KvmError& e) {
    return Fail(e.what());
  }

  std::latch start(1);
  std::latch exited_once(static_cast<std::ptrdiff_t>(nvcpus));
  std::atomic<bool> abort{false};
  const kq::VcpuRunContext ctx{opts.pin_cpu,       &start,       &abort,
                               opts.switch_thread, &exited_once, opts.mark};
  std::vector<std::vector<kq::VcpuOutcome>> outcomes(vms.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < vms.size(); ++i) outcomes[i].resize(opts.vms[i].size());
  // irq: one link and injector per VM whose vCPU 0 runs irq.
  std::vector<std::unique_ptr<kq::IrqLink>> links(vms.size());
  std::vector<kq::InjectorOutcome> injected(vms.size());
  std::vector<std::thread> injectors;
  const kq::InjectorContext injector_ctx{opts.injector_cpu, &start, &abort, opts.seed};
  for (size_t i = 0; i < vms.size(); ++i) {
    if (opts.vms[i][0].kind == kq::ProgramKind::kIrq) links[i] = std::make_unique<kq::IrqLink>();
  }
  if (std::any_of(links.begin(), links.end(), [](const auto& l) { return l != nullptr; })) {
    kq::InstallKickHandler();
  }
  std::string spawn_error;
  try {
    for (size_t i = 0; i < vms.size(); ++i) {
      for (size_t j = 0; j < opts.vms[i].size(); ++j) {
        threads.emplace_back(kq::RunVcpu, static_cast<int>(i), std::ref(*vms[i]->vcpus()[j]),
                             std::cref(opts.vms[i][j]), std::cref(ctx), &outcomes[i][j],
                             j == 0 ? links[i].get() : nullptr);
      }
    }
  } catch (const std::system_error& e) {
    spawn_error = std::string("std::thread: ") + e.what();
    abort = true;  // the threads already started stop before their first KVM_RUN
    for (size_t k = threads.size(); k < nvcpus; ++k) exited_once.count_down();
  }
  // After the vCPU threads: a failure here leaves no irq vCPU without its injector running.
  try {
    for (size_t i = 0; i < vms.size() && spawn_error.empty(); ++i) {
      if (links[i] == nullptr) continue;
      injectors.emplace_back(kq::RunInjector, std::ref(*vms[i]), std::cref(opts.vms[i][0]),
                             std::cref(injector_ctx), std::ref(*links[i]), &injected[i]);
    }
  } catch (const std::system_error& e) {
    spawn_error = std::string("std::thread: ") + e.what();
    abort = true;  // the vCPU threads stop before their first KVM_RUN
  }
  start.count_down();  // all VMs start together
  std::string close_error;
  if (opts.close_during_run_ms && spawn_error.empty()) {
    // Every vCPU has been in KVM_RUN and is (or is about to be) back in it: drop the fds
    // under it, so that each vCPU thread's KVM_RUN holds the last reference to its file.
    // The delay lets the module under test act on the running vCPUs first (a stimulus,
    // not a wait for a result).
    exited_once.wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(*opts.close_during_run_ms));
    try {
      for (auto& vm : vms) vm->Detach(devnull);
    } catch (const kq::KvmError& e) {
      close_error = e.what();
    }
  }
  // Injectors first: each ends by kicking its vCPU, whose thread must still exist then.
  for (std::thread& t : injectors) t.join();
  for (std::thread& t : threads) t.join();
  if (!spawn_error.empty()) return Fail(spawn_error);
  if (!close_error.empty()) return Fail(close_error);

  std::string errors;
  report->pid = getpid();
  report->vms.clear();
  for (size_t i = 0; i < vms.size(); ++i) {
    kq::VmReport vm{static_cast<int>(i), {}};
    if (links[i] != nullptr) {
      if (!injected[i].error.empty())
        errors += "\n  vm " + std::to_string(i) + " " + injected[i].error;
      outcomes[i][0].report.latency = std::move(injected[i].latency);
    }
    for (kq::VcpuOutcome& o : outcomes[i]) {
      if (!o.error.empty()) errors += "\n  vm " + std::to_string(i) + " " + o.error;
      vm.vcpus.push_back(o.report);
    }
    report->vms.push_back(std::move(vm));
  }
  if (!errors.empty()) return Fail("a vCPU failed:" + errors);
  if (last) {
    const int rc = Publish(opts, *report);
    if (rc != kExitOk) return rc;
  }
  for (auto& vm : vms) vm->vcpus().clear();  // vCPU fds first, then the VM fds
  vms.clear();
  return kExitOk;
}

int Run(const kq::CliOptions& opts) {
  kq::Watchdog watchdog(opts.timeout_sec);
  std::unique_ptr<kq::Kvm> kvm;
  try {
    kvm = std::make_unique<kq::Kvm>();
  } catch (const kq::KvmError& e) {
    return Fail(e.what());
  }
  const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) return Fail(std::string("open /dev/null: ") + strerror(errno));
  for (int c = 0; c < opts.cycles; ++c) {
    const int rc = RunCycle(opts, *kvm, devnull, c + 1 == opts.cycles);
    if (rc != kExitOk) {
      if (opts.cycles > 1) {
        fprintf(stderr, "kq-testvmm: cycle %d of %d failed\n", c + 1, opts.cycles);
      }
      close(devnull);
      return rc;
    }
  }
  close(devnull);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  const kq::CliResult cli = kq::ParseCli(std::vector<std::string>(argv + 1, argv + argc));
  if (!cli.options) {
    fprintf(stderr, "kq-testvmm: %s\n%s", cli.error.c_str(), kq::UsageText().c_str());
    return kExitUsage;
  }
  if (cli.options->help) {
    printf("%s", kq::UsageText().c_str());
    return kExitOk;
  }
  // One fd per vCPU: 16 VMs x 64 vCPUs pass the usual soft limit of 1024. Like QEMU, take
  // what the hard limit allows.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  return Run(*cli.options);
}
