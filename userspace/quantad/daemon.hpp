// SPDX-License-Identifier: GPL-2.0
// The quantad main loop: telemetry subscription (re-established when the
// module comes back), VM discovery and naming, policy application, the
// profile database, the metrics endpoint, logging and systemd notification.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config.hpp"
#include "kq_nl.hpp"
#include "profile.hpp"
#include "state.hpp"
#include "store.hpp"

namespace kq::bpfq {
class QuantaTracer;  // bpf/quanta_tracer.hpp; absent with -DKQ_WITH_BPF=OFF
}  // namespace kq::bpfq

namespace kq::quantad {

struct Options {
  std::string config_path = KQ_SYSCONFDIR "/kvm-quanta/quantad.toml";
  bool config_explicit = false;
  std::string proc_root = "/proc";
  std::string sysfs_root = "/sys/kernel/kvm_quanta";
  std::optional<std::string> database;        // overrides [daemon] database
  std::optional<std::string> metrics_listen;  // overrides [daemon] metrics_listen
};

class Daemon {
 public:
  Daemon(Options opts, Config cfg);
  ~Daemon();
  // Runs until SIGTERM or SIGINT (which the caller has blocked in every
  // thread); returns the exit code.
  int Run();

 private:
  void Tick();
  void CheckModule();
  void ModuleGone(const std::string& why);
  void ScanVms();
  VmState* AddVm(uint32_t pid, uint64_t id);
  void ApplyVm(VmState* vm, const char* why);
  void ApplyMode();
  void TraceQuanta();
  void OnMessage(const nl::Message& m);
  void Reload();
  void Persist();
  void TakeImports();
  void LogBadNotifications(const nl::BadNotifications& bad);
  void Summary();
  void Status(const std::string& s);
  HistoryParams History() const;

  Options opts_;
  Config cfg_;
  std::string listen_;
  std::string db_path_;
  std::unique_ptr<ProfileStore> store_;
  std::map<std::string, Profile> profiles_;
  std::unique_ptr<nl::Client> sub_;  // subscribed to samples
  uint64_t sysfs_ino_ = 0;
  uint64_t enobufs_base_ = 0;  // ENOBUFS of earlier subscriptions
  bool absent_logged_ = false;
  bool connect_fail_logged_ = false;
  bool ready_ = false;
  std::unique_ptr<bpfq::QuantaTracer> bpf_;  // loaded when allowed
  bool bpf_tried_ = false;
  bool watchdog_ = false;  // WatchdogSec= set: ping every tick
  std::mutex mu_;          // guards state_
  State state_;
  std::map<std::string, std::array<uint64_t, kReasons>> summary_base_;
  std::chrono::steady_clock::time_point last_persist_, last_summary_, last_bad_log_;
  uint64_t bad_logged_ = 0;  // bad notifications of this subscription logged
};

}  // namespace kq::quantad
