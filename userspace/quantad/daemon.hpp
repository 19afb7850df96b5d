// SPDX-License-Identifier: GPL-2.0
// The quantad main loop: telemetry subscription (re-established when the
// module comes back), VM discovery and naming, policy application, the
// profile database, the metrics endpoint, logging and systemd notification.
#pragma once

#include <chrono>
#include <functional>
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

using Clock = std::chrono::steady_clock;

// The module's telemetry as quantad takes it: a subscription to the samples
// group (nl::Client), or a fake in the tests.
class Telemetry {
 public:
  virtual ~Telemetry() = default;
  // As nl::Client::Receive: 0 on timeout or after messages, -1 on error
  // (*error set); a notification that does not parse is not an error.
  virtual int Receive(int timeout_ms, const std::function<void(const nl::Message&)>& fn,
                      std::string* error) = 0;
  virtual uint64_t enobufs() const = 0;
  virtual const nl::BadNotifications& bad_notifications() const = 0;
  // What the log says about it ("family id 30, group 5").
  virtual std::string Describe() const = 0;
};

// Subscribes to the kvm_quanta family's samples (nl::Client); nullptr and
// *error when the family is not there or the subscription fails.
std::unique_ptr<Telemetry> SubscribeNetlink(std::string* error);

struct Options {
  std::string config_path = KQ_SYSCONFDIR "/kvm-quanta/quantad.toml";
  bool config_explicit = false;
  std::string proc_root = "/proc";
  std::string sysfs_root = "/sys/kernel/kvm_quanta";
  std::optional<std::string> database;        // overrides [daemon] database
  std::optional<std::string> metrics_listen;  // overrides [daemon] metrics_listen
  // The tests' seams: the telemetry subscription and the clock.
  std::function<std::unique_ptr<Telemetry>(std::string* error)> subscribe = SubscribeNetlink;
  std::function<Clock::time_point()> now = Clock::now;
};

class Daemon {
 public:
  Daemon(Options opts, Config cfg);
  ~Daemon();
  // Runs until SIGTERM or SIGINT (which the caller has blocked in every
  // thread); returns the exit code.
  int Run();

  // Run's steps, for the tests: Open takes the profile database (dropping
  // unnamed VMs' profiles, taking queued imports); Step is one turn of the
  // main loop (the once-a-second tick when it is due, then up to timeout_ms
  // of telemetry); Reload is what SIGHUP does; Close saves the profiles.
  // Metrics is what /metrics serves.
  void Open();
  void Step(int timeout_ms);
  void Reload();
  void Close();
  std::string Metrics();

 private:
  void Tick();
  void CheckModule();
  void ModuleGone(const std::string& why);
  void ScanVms();
  VmState* AddVm(uint32_t pid, uint64_t id);
  void ApplyVm(VmState* vm, const char* why);
  void ApplyMode();
  void ApplyHost(const char* why);
  void TraceQuanta();
  void OnMessage(const nl::Message& m);
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
  std::unique_ptr<Telemetry> sub_;  // subscribed to samples
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
  Clock::time_point last_persist_, last_summary_, last_bad_log_, next_tick_;
  uint64_t bad_logged_ = 0;  // bad notifications of this subscription logged
};

}  // namespace kq::quantad
