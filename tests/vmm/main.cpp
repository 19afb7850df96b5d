// kq-testvmm: runs several small real-mode VMs with several vCPUs each against /dev/kvm and
// reports what each vCPU did. See cli.cpp for the command line, guest_programs.cpp for what
// each guest program does.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <latch>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "guest_programs.hpp"
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

int Run(const kq::CliOptions& opts) {
  kq::Watchdog watchdog(opts.timeout_sec);

  // Create every VM and vCPU before any vCPU runs.
  std::vector<std::unique_ptr<kq::Vm>> vms;
  std::unique_ptr<kq::Kvm> kvm;
  try {
    kvm = std::make_unique<kq::Kvm>();
    for (size_t i = 0; i < opts.vms.size(); ++i) {
      std::vector<std::vector<uint8_t>> code;
      for (const kq::ProgramSpec& spec : opts.vms[i]) code.push_back(kq::EncodeProgram(spec));
      vms.push_back(std::make_unique<kq::Vm>(*kvm, static_cast<int>(i), code));
    }
  } catch (const kq::KvmError& e) {
    return Fail(e.what());
  }

  std::latch start(1);
  std::atomic<bool> abort{false};
  const kq::VcpuRunContext ctx{opts.pin_cpu, &start, &abort};
  std::vector<std::vector<kq::VcpuOutcome>> outcomes(vms.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < vms.size(); ++i) outcomes[i].resize(opts.vms[i].size());
  std::string spawn_error;
  try {
    for (size_t i = 0; i < vms.size(); ++i) {
      for (size_t j = 0; j < opts.vms[i].size(); ++j) {
        threads.emplace_back(kq::RunVcpu, static_cast<int>(i), std::ref(*vms[i]->vcpus()[j]),
                             std::cref(opts.vms[i][j]), std::cref(ctx), &outcomes[i][j]);
      }
    }
  } catch (const std::system_error& e) {
    spawn_error = std::string("std::thread: ") + e.what();
    abort = true;  // the threads already started stop before their first KVM_RUN
  }
  start.count_down();  // all VMs start together
  for (std::thread& t : threads) t.join();
  if (!spawn_error.empty()) return Fail(spawn_error);

  std::string errors;
  kq::Report report;
  report.pid = getpid();
  for (size_t i = 0; i < vms.size(); ++i) {
    kq::VmReport vm{static_cast<int>(i), {}};
    for (kq::VcpuOutcome& o : outcomes[i]) {
      if (!o.error.empty()) errors += "\n  vm " + std::to_string(i) + " " + o.error;
      vm.vcpus.push_back(o.report);
    }
    report.vms.push_back(std::move(vm));
  }
  if (!errors.empty()) return Fail("a vCPU failed:" + errors);

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
  for (auto& vm : vms) vm->vcpus().clear();  // vCPU fds first, then the VM fds
  vms.clear();
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
  return Run(*cli.options);
}
