// SPDX-License-Identifier: GPL-2.0
// The daemon's main loop against a fake sysfs and /proc, a fake telemetry
// subscription and a clock the test moves (issue 12, defects 6 and 7): the
// profile of an unnamed VM ("pid-N") is forgotten with the last VM of its
// process, in memory and in the database, and at start; a notification that
// does not parse is logged at once, then at most once a minute, and the
// subscription stays; a reload applies the new policy through the shared
// writer and refuses an empty file.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "daemon.hpp"
#include "sysfs.hpp"

namespace kq::quantad {
namespace {

namespace fs = std::filesystem;

// What the fake subscription hands the daemon, and how often it was taken.
struct Feed {
  std::vector<nl::Message> pending;
  nl::BadNotifications bad;
  uint64_t enobufs = 0;
  int subscriptions = 0;
};

class FakeTelemetry : public Telemetry {
 public:
  explicit FakeTelemetry(std::shared_ptr<Feed> feed) : feed_(std::move(feed)) {}
  int Receive(int, const std::function<void(const nl::Message&)>& fn, std::string*) override {
    for (const nl::Message& m : feed_->pending) fn(m);
    feed_->pending.clear();
    return 0;
  }
  uint64_t enobufs() const override { return feed_->enobufs; }
  const nl::BadNotifications& bad_notifications() const override { return feed_->bad; }
  std::string Describe() const override { return "fake"; }

 private:
  std::shared_ptr<Feed> feed_;
};

class QuantadDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/quantad-daemon-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/sys/vms");
    fs::create_directories(dir_ + "/proc");
    opts_.sysfs_root = dir_ + "/sys";
    opts_.proc_root = dir_ + "/proc";
    opts_.database = dir_ + "/q.db";
    opts_.subscribe = [feed = feed_](std::string*) -> std::unique_ptr<Telemetry> {
      ++feed->subscriptions;
      return std::make_unique<FakeTelemetry>(feed);
    };
    opts_.now = [this] { return now_; };
    cfg_.daemon.bpf = false;
    saved_logger_ = spdlog::default_logger();
    auto log = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_));
    log->set_pattern("%l %v");
    spdlog::set_default_logger(log);
  }
  void TearDown() override {
    spdlog::set_default_logger(saved_logger_);
    fs::remove_all(dir_);
  }

  void AddVm(const std::string& sysfs_dir) {
    fs::create_directories(dir_ + "/sys/vms/" + sysfs_dir);
  }
  void RemoveVm(const std::string& sysfs_dir) { fs::remove_all(dir_ + "/sys/vms/" + sysfs_dir); }
  void NameProcess(uint32_t pid, const std::string& name) {
    fs::create_directories(dir_ + "/proc/" + std::to_string(pid));
    std::ofstream(dir_ + "/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary)
        << std::string("qemu-system-x86_64\0-name\0", 25) << name << std::string(1, '\0');
  }
  // The module's host-wide parameters (policy/): every one of HostParams()
  // at 1, written with end after it, under root (default: the fake sysfs).
  void HostFiles(const std::string& end, std::string root = "") {
    if (root.empty()) root = dir_ + "/sys";
    fs::create_directories(root + "/policy");
    for (const KnobSpec& p : HostParams()) std::ofstream(root + "/policy/" + p.name) << 1 << end;
  }
  // A parameter file's bytes, as written (a rewrite of the same value
  // shows as the writer's trailing newline).
  std::string HostRaw(const std::string& name) {
    std::ifstream in(dir_ + "/sys/policy/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Every parameter file's bytes but those in except.
  std::map<std::string, std::string> HostRawExcept(const std::set<std::string>& except) {
    std::map<std::string, std::string> out;
    for (const KnobSpec& p : HostParams())
      if (!except.count(p.name)) out[p.name] = HostRaw(p.name);
    return out;
  }
  std::map<std::string, std::string> AllHostRaw(const std::string& v,
                                                const std::set<std::string>& except) {
    std::map<std::string, std::string> out;
    for (const KnobSpec& p : HostParams())
      if (!except.count(p.name)) out[p.name] = v;
    return out;
  }
  Config Parse(const std::string& text) {
    std::string err;
    auto c = ParseConfig(text, "q.toml", &err);
    EXPECT_TRUE(c) << err;
    Config cfg = c.value_or(Config{});
    cfg.daemon.bpf = false;
    return cfg;
  }

  // One window's notification with a sample of vCPU 0 of each VM.
  void Window(uint64_t seq, const std::vector<std::pair<uint32_t, uint64_t>>& pid_vm) {
    nl::Message m;
    m.cmd = KVM_QUANTA_CMD_SAMPLES;
    m.seq = seq;
    for (const auto& [pid, vm] : pid_vm) {
      nl::VcpuSample s;
      s.vm_id = vm;
      s.pid = pid;
      s.tid = pid + 1;
      m.vcpus.push_back(s);
    }
    feed_->pending.push_back(m);
  }
  // The profiles in the database, by name, with their windows.
  std::map<std::string, uint64_t> Saved() {
    std::string err;
    auto st = ProfileStore::Open(*opts_.database, &err);
    std::map<std::string, Profile> all;
    EXPECT_TRUE(st && st->LoadAll(&all, &err)) << err;
    std::map<std::string, uint64_t> out;
    for (const auto& [name, p] : all) out[name] = p.windows;
    return out;
  }
  // Moves the clock on and runs one turn of the main loop.
  void StepAfter(std::chrono::seconds s) {
    now_ += s;
    d_->Step(0);
  }
  size_t LogCount(const std::string& what) const {
    const std::string text = log_.str();
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  std::string dir_;
  Options opts_;
  Config cfg_;
  std::shared_ptr<Feed> feed_ = std::make_shared<Feed>();
  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1);
  std::ostringstream log_;
  std::shared_ptr<spdlog::logger> saved_logger_;
  std::unique_ptr<Daemon> d_;
};

TEST_F(QuantadDaemon, UnnamedProfilesExpireWithTheirVm) {
  {
    // An earlier run's profiles: an unnamed VM's pid means nothing now.
    std::string err;
    auto st = ProfileStore::Open(*opts_.database, &err);
    ASSERT_TRUE(st) << err;
    Profile p;
    p.windows = 5;
    ASSERT_TRUE(st->SaveAll({{"pid-77", p}, {"db1", p}}, &err)) << err;
  }
  AddVm("100-1");  // two VMs of one unnamed process
  AddVm("100-3");
  AddVm("200-2");  // a named one
  NameProcess(200, "web1");
  d_ = std::make_unique<Daemon>(opts_, cfg_);
  d_->Open();
  EXPECT_EQ(Saved(), (std::map<std::string, uint64_t>{{"db1", 5}}));

  d_->Step(0);  // subscribes, finds the VMs
  EXPECT_NE(LogCount("vm pid-100 appeared"), 0u) << log_.str();
  EXPECT_EQ(LogCount("vm web1 appeared"), 1u) << log_.str();
  Window(1, {{100, 1}, {100, 3}, {200, 2}});
  d_->Step(0);
  StepAfter(std::chrono::seconds(61));  // the profiles are saved
  EXPECT_EQ(Saved(), (std::map<std::string, uint64_t>{{"db1", 5}, {"pid-100", 2}, {"web1", 1}}));

  // One of the process's VMs goes: its profile is still the other's.
  RemoveVm("100-1");
  StepAfter(std::chrono::seconds(1));
  EXPECT_EQ(Saved().count("pid-100"), 1u);
  // The last one goes: forgotten at once, and not saved again.
  RemoveVm("100-3");
  StepAfter(std::chrono::seconds(1));
  EXPECT_EQ(Saved(), (std::map<std::string, uint64_t>{{"db1", 5}, {"web1", 1}}));
  StepAfter(std::chrono::seconds(61));
  EXPECT_EQ(Saved(), (std::map<std::string, uint64_t>{{"db1", 5}, {"web1", 1}}));
  // A named VM's profile outlives it: it follows the name.
  RemoveVm("200-2");
  StepAfter(std::chrono::seconds(1));
  d_->Close();
  EXPECT_EQ(Saved(), (std::map<std::string, uint64_t>{{"db1", 5}, {"web1", 1}}));
  EXPECT_NE(d_->Metrics().find("quantad_vms 0\n"), std::string::npos) << d_->Metrics();
}

TEST_F(QuantadDaemon, BadNotificationsLoggedOnceAMinuteSubscriptionKept) {
  const std::string logged = "could not be parsed and were skipped";
  AddVm("100-1");
  d_ = std::make_unique<Daemon>(opts_, cfg_);
  d_->Open();
  d_->Step(0);
  ASSERT_EQ(feed_->subscriptions, 1);

  feed_->bad = {1, "attribute SEQ: wrong size"};
  d_->Step(0);
  EXPECT_EQ(LogCount(logged), 1u) << log_.str();
  EXPECT_EQ(LogCount("1 notification(s)"), 1u) << log_.str();
  EXPECT_EQ(LogCount("attribute SEQ: wrong size"), 1u) << log_.str();

  // More within the minute: counted, not logged; good windows still arrive.
  feed_->bad.count = 5;
  StepAfter(std::chrono::seconds(30));
  Window(1, {{100, 1}});
  feed_->bad.count = 9;
  StepAfter(std::chrono::seconds(29));
  EXPECT_EQ(LogCount(logged), 1u) << log_.str();

  // A minute after the first: the count since, once.
  StepAfter(std::chrono::seconds(2));
  EXPECT_EQ(LogCount(logged), 2u) << log_.str();
  EXPECT_EQ(LogCount("8 notification(s)"), 1u) << log_.str();
  StepAfter(std::chrono::seconds(61));  // nothing new: nothing logged
  EXPECT_EQ(LogCount(logged), 2u) << log_.str();

  // The subscription was never dropped.
  EXPECT_EQ(feed_->subscriptions, 1);
  EXPECT_EQ(LogCount("telemetry lost"), 0u) << log_.str();
  const std::string m = d_->Metrics();
  EXPECT_NE(m.find("quantad_module_present 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("quantad_module_loads_total 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("quantad_windows_total 1\n"), std::string::npos) << m;
}

// One library: the policy's view of a vCPU (target, reason, debt,
// decisions) comes from the netlink samples; the fake sysfs has no such
// files, and quantad no longer reads them there.
TEST_F(QuantadDaemon, PolicyStateFromTelemetry) {
  AddVm("100-1");
  d_ = std::make_unique<Daemon>(opts_, cfg_);
  d_->Open();
  d_->Step(0);
  Window(1, {{100, 1}});
  nl::VcpuSample& s = feed_->pending.back().vcpus.back();
  s.target_ns = 4800000;
  s.reason = KVM_QUANTA_R_WARM;
  s.debt_ns = -20000;
  s.decisions = std::array<uint64_t, nl::kReasonCount>{};
  (*s.decisions)[KVM_QUANTA_R_WARM] = 7;
  d_->Step(0);
  const std::string m = d_->Metrics();
  const std::string vcpu = "{vm=\"pid-100\",vm_id=\"1\",vcpu=\"0\"";
  EXPECT_NE(m.find("quantad_vcpu_target_quantum_ns" + vcpu + "} 4800000\n"), std::string::npos)
      << m;
  EXPECT_NE(m.find("quantad_vcpu_debt_ns" + vcpu + "} -20000\n"), std::string::npos) << m;
  EXPECT_NE(m.find("quantad_vcpu_decisions_total" + vcpu + ",reason=\"warm\"} 7\n"),
            std::string::npos)
      << m;
}

// Defect 6 and one writer: the configured policy reaches sysfs through the
// shared writer (lib/sysfs.cpp); a reload of an empty file keeps the
// running configuration, and one that lost [[vm]] entries says which.
TEST_F(QuantadDaemon, ReloadAppliesAndRefusesAnEmptyFile) {
  const std::string conf = dir_ + "/q.toml";
  std::ofstream(conf) << "[[vm]]\nname = \"web1\"\nweight = 300\n\n"
                         "[[vm]]\nname = \"db*\"\nweight = 50\n";
  std::string err;
  auto cfg = LoadConfig(conf, &err);
  ASSERT_TRUE(cfg) << err;
  cfg->daemon.bpf = false;
  opts_.config_path = conf;
  AddVm("200-2");
  NameProcess(200, "web1");
  const std::string policy = dir_ + "/sys/vms/200-2/policy/";
  fs::create_directories(policy);
  for (const auto& [k, v] : PolicyKnobs(Policy{})) std::ofstream(policy + k) << v << "\n";
  auto weight = [&] {
    std::ifstream in(policy + "weight");
    uint64_t w = 0;
    in >> w;
    return w;
  };
  d_ = std::make_unique<Daemon>(opts_, *cfg);
  d_->Open();
  d_->Step(0);
  EXPECT_EQ(weight(), 300u) << log_.str();

  std::ofstream(conf) << "[[vm]]\nname = \"web1\"\nweight = 500\n";  // db* dropped
  d_->Reload();
  EXPECT_EQ(weight(), 500u) << log_.str();
  EXPECT_EQ(LogCount("reload: [[vm]] \"db*\" is gone from " + conf), 1u) << log_.str();

  std::ofstream(conf, std::ios::trunc).flush();  // half-written: nothing yet
  d_->Reload();
  EXPECT_EQ(LogCount("keeping the running configuration"), 1u) << log_.str();
  StepAfter(std::chrono::seconds(1));
  EXPECT_EQ(weight(), 500u) << log_.str();
}

// Groups: quantad writes each VM's group number (its name's, GroupHome())
// to vms/<vm>/policy/group, 0 for a VM in no group, and logs the name; a
// reload that adds or removes names leaves the others' numbers alone.
TEST_F(QuantadDaemon, GroupNumbersReachSysfs) {
  const std::string conf = dir_ + "/q.toml";
  std::ofstream(conf) << "[[vm]]\nname = \"web*\"\ngroup = \"web\"\n\n"
                         "[[vm]]\nname = \"db1\"\ngroup = \"db\"\n";
  const uint64_t web = GroupHome("web"), db = GroupHome("db"), batch = GroupHome("a-batch");
  ASSERT_EQ((std::set<uint64_t>{web, db, batch}).size(), 3u) << "homes must differ here";
  std::string err;
  auto cfg = LoadConfig(conf, &err);
  ASSERT_TRUE(cfg) << err;
  cfg->daemon.bpf = false;
  opts_.config_path = conf;
  const std::vector<std::pair<uint32_t, std::string>> vms = {
      {201, "web1"}, {202, "web2"}, {203, "db1"}, {204, "batch"}};
  for (const auto& [pid, name] : vms) {
    const std::string dir = std::to_string(pid) + "-" + std::to_string(pid - 200);  // ids 1..4
    AddVm(dir);
    NameProcess(pid, name);
    const std::string policy = dir_ + "/sys/vms/" + dir + "/policy/";
    fs::create_directories(policy);
    for (const auto& [k, v] : PolicyKnobs(Policy{})) std::ofstream(policy + k) << v << "\n";
  }
  auto group = [&](uint32_t pid) {
    std::ifstream in(dir_ + "/sys/vms/" + std::to_string(pid) + "-" + std::to_string(pid - 200) +
                     "/policy/group");
    uint64_t g = 99999;
    in >> g;
    return g;
  };
  d_ = std::make_unique<Daemon>(opts_, *cfg);
  d_->Open();
  d_->Step(0);
  EXPECT_EQ(group(201), web) << log_.str();
  EXPECT_EQ(group(202), web) << log_.str();
  EXPECT_EQ(group(203), db) << log_.str();
  EXPECT_EQ(group(204), 0u) << log_.str();
  EXPECT_EQ(LogCount(fmt::format("vm web1: applied policy (new VM; [[vm]] web*, profile score "
                                 "+0%): group 0->{} (\"web\")\n",
                                 web)),
            1u)
      << log_.str();
  EXPECT_EQ(LogCount("vm batch: applied policy"), 0u) << log_.str();

  // A name that sorts first joins: nobody else is renumbered.
  std::ofstream(conf) << "[[vm]]\nname = \"web*\"\ngroup = \"web\"\n\n"
                         "[[vm]]\nname = \"db1\"\ngroup = \"db\"\n\n"
                         "[[vm]]\nname = \"batch\"\ngroup = \"a-batch\"\n";
  d_->Reload();
  EXPECT_EQ(group(201), web) << log_.str();
  EXPECT_EQ(group(202), web) << log_.str();
  EXPECT_EQ(group(203), db) << log_.str();
  EXPECT_EQ(group(204), batch) << log_.str();
  EXPECT_EQ(LogCount("vm web1: applied policy (reload"), 0u) << log_.str();
  EXPECT_EQ(LogCount(fmt::format("group 0->{} (\"a-batch\")", batch)), 1u) << log_.str();

  std::ofstream(conf) << "[[vm]]\nname = \"web*\"\ngroup = \"web\"\n";
  d_->Reload();
  EXPECT_EQ(group(201), web) << log_.str();
  EXPECT_EQ(group(203), 0u) << log_.str();
  EXPECT_EQ(group(204), 0u) << log_.str();
  EXPECT_EQ(
      LogCount(fmt::format(
          "vm db1: applied policy (reload; [defaults], profile score +0%): group {}->0\n", db)),
      1u)
      << log_.str();
}

// [host] at start: only the parameters that differ from sysfs are written
// (a rewrite would leave the writer's newline), through the shared writer;
// the ones the file does not name are left alone; the change is logged.
TEST_F(QuantadDaemon, HostParamsAppliedAtStartOnlyWhatDiffers) {
  HostFiles("");  // no newline: a rewrite shows
  cfg_ = Parse("[host]\nlatency_boost = 2\nratelimit_us = 1\ndebt_max_us = 30000\n");
  d_ = std::make_unique<Daemon>(opts_, cfg_);
  d_->Open();
  d_->Step(0);
  EXPECT_EQ(HostRaw("latency_boost"), "2\n") << log_.str();
  EXPECT_EQ(HostRaw("debt_max_us"), "30000\n") << log_.str();
  EXPECT_EQ(HostRaw("ratelimit_us"), "1") << "equal: must not be written";
  EXPECT_EQ(HostRawExcept({"latency_boost", "debt_max_us"}),
            AllHostRaw("1", {"latency_boost", "debt_max_us"}));
  EXPECT_EQ(LogCount("info [host] parameters applied (module found): debt_max_us 1->30000, "
                     "latency_boost 1->2\n"),
            1u)
      << log_.str();
  // Nothing differs any more: the next turns write and log nothing.
  StepAfter(std::chrono::seconds(1));
  EXPECT_EQ(LogCount("[host] parameters"), 1u) << log_.str();
}

// The module absent at start, loaded later, reloaded (a new sysfs
// directory, its parameters back at the module's defaults): [host] is
// applied each time.  A reload of the file applies its new values and
// leaves a parameter it no longer names as it is; a bad [host] on reload
// keeps the running configuration.
TEST_F(QuantadDaemon, HostParamsFollowTheModuleAndReload) {
  const std::string conf = dir_ + "/q.toml";
  std::ofstream(conf) << "[host]\nlatency_boost = 2\ndebt_max_us = 30000\n";
  std::string err;
  auto cfg = LoadConfig(conf, &err);
  ASSERT_TRUE(cfg) << err;
  cfg->daemon.bpf = false;
  opts_.config_path = conf;
  fs::remove_all(dir_ + "/sys");
  d_ = std::make_unique<Daemon>(opts_, *cfg);
  d_->Open();
  d_->Step(0);
  EXPECT_EQ(feed_->subscriptions, 0);

  // Loaded.
  fs::create_directories(dir_ + "/sys/vms");
  HostFiles("\n");
  StepAfter(std::chrono::seconds(1));
  EXPECT_EQ(feed_->subscriptions, 1);
  EXPECT_EQ(HostRaw("latency_boost"), "2\n") << log_.str();
  EXPECT_EQ(HostRaw("debt_max_us"), "30000\n") << log_.str();

  // Reloaded: a new directory (a new inode) with the defaults again.
  fs::create_directories(dir_ + "/sys2/vms");
  HostFiles("\n", dir_ + "/sys2");
  fs::remove_all(dir_ + "/sys");
  fs::rename(dir_ + "/sys2", dir_ + "/sys");
  StepAfter(std::chrono::seconds(1));
  EXPECT_EQ(LogCount("was reloaded"), 1u) << log_.str();
  EXPECT_EQ(feed_->subscriptions, 2);
  EXPECT_EQ(HostRaw("latency_boost"), "2\n") << log_.str();
  EXPECT_EQ(HostRaw("debt_max_us"), "30000\n") << log_.str();
  EXPECT_EQ(LogCount("[host] parameters applied (module found)"), 2u) << log_.str();

  // SIGHUP: new values applied; debt_max_us no longer set: kept, not reset.
  std::ofstream(conf) << "[host]\nlatency_boost = 3\n";
  d_->Reload();
  EXPECT_EQ(HostRaw("latency_boost"), "3\n") << log_.str();
  EXPECT_EQ(HostRaw("debt_max_us"), "30000\n") << log_.str();
  EXPECT_EQ(LogCount("[host] parameters applied (reload): latency_boost 2->3\n"), 1u) << log_.str();
  EXPECT_EQ(LogCount("reload: [host] debt_max_us is gone from " + conf), 1u) << log_.str();

  // A bad [host] refuses the whole file: nothing changes.
  std::ofstream(conf) << "[host]\nlatency_boost = 1\nratelimit_us = 100001\n";
  d_->Reload();
  EXPECT_EQ(LogCount(conf + ":3: ratelimit_us = 100001 is out of range 0..100000; keeping the "
                            "running configuration"),
            1u)
      << log_.str();
  StepAfter(std::chrono::seconds(1));
  EXPECT_EQ(HostRaw("latency_boost"), "3\n") << log_.str();
  EXPECT_EQ(HostRaw("ratelimit_us"), "1\n") << log_.str();
}

// The module refuses a write: the ones before it are rolled back (every
// file as it was), the error is logged, and quantad carries on (a VM's
// policy is still applied).  The refusing file is a read-only sysctl,
// which even root cannot write.
TEST_F(QuantadDaemon, HostParamsRefusedRolledBackDaemonKeepsRunning) {
  const std::string ro = "/proc/sys/kernel/ngroups_max";
  HostFiles("\n");
  fs::remove(dir_ + "/sys/policy/warm_ipc_milli");
  fs::create_symlink(ro, dir_ + "/sys/policy/warm_ipc_milli");
  const Sysfs sys(dir_ + "/sys");
  auto ro_value = sys.Read("policy/warm_ipc_milli");
  if (!ro_value || *ro_value != "65536" || sys.Write("policy/warm_ipc_milli", "65536") == 0)
    GTEST_SKIP() << ro << " is not a read-only 65536 here";
  AddVm("200-2");
  NameProcess(200, "web1");
  const std::string policy = dir_ + "/sys/vms/200-2/policy/";
  fs::create_directories(policy);
  for (const auto& [k, v] : PolicyKnobs(Policy{})) std::ofstream(policy + k) << v << "\n";

  // flush_burst_pct is written first (name order), then warm_ipc_milli fails.
  cfg_ = Parse(
      "[host]\nflush_burst_pct = 150\nwarm_ipc_milli = 1000\n\n"
      "[[vm]]\nname = \"web1\"\nweight = 300\n");
  const auto before = HostRawExcept({"warm_ipc_milli"});
  d_ = std::make_unique<Daemon>(opts_, cfg_);
  d_->Open();
  d_->Step(0);
  EXPECT_EQ(HostRawExcept({"warm_ipc_milli"}), before) << log_.str();
  EXPECT_EQ(HostRaw("flush_burst_pct"), "1\n");
  EXPECT_EQ(LogCount("error [host] parameters not applied (module found): writing warm_ipc_milli "
                     "failed: Permission denied; restored the 1 value(s) already written, "
                     "nothing changed\n"),
            1u)
      << log_.str();
  EXPECT_EQ(LogCount("[host] parameters applied"), 0u) << log_.str();
  // Still running: the VM's policy went in, the module is attached.
  std::ifstream in(policy + "weight");
  uint64_t w = 0;
  in >> w;
  EXPECT_EQ(w, 300u) << log_.str();
  StepAfter(std::chrono::seconds(1));
  EXPECT_NE(d_->Metrics().find("quantad_module_present 1\n"), std::string::npos);
  EXPECT_EQ(feed_->subscriptions, 1);
}

// A parameter the module lacks (an older module) is an error only when
// [host] names it; the whole table is then refused.
TEST_F(QuantadDaemon, HostParamMissingInModuleRefusesTheTable) {
  HostFiles("");
  fs::remove(dir_ + "/sys/policy/flush_burst_pct");
  cfg_ = Parse("[host]\nflush_burst_pct = 150\nlatency_boost = 2\n");
  d_ = std::make_unique<Daemon>(opts_, cfg_);
  d_->Open();
  d_->Step(0);
  EXPECT_EQ(HostRaw("latency_boost"), "1") << log_.str();
  EXPECT_EQ(LogCount("error [host] parameters not applied (module found): cannot read"), 1u)
      << log_.str();
  EXPECT_NE(log_.str().find("policy/flush_burst_pct (no such file: module too old?)"),
            std::string::npos)
      << log_.str();
}

// Without [host] quantad does not touch policy/, at start or on reload.
TEST_F(QuantadDaemon, NoHostTableWritesNothing) {
  HostFiles("");
  const std::string conf = dir_ + "/q.toml";
  std::ofstream(conf) << "[defaults]\nweight = 200\n";
  opts_.config_path = conf;
  cfg_ = Parse("[defaults]\nweight = 200\n");
  d_ = std::make_unique<Daemon>(opts_, cfg_);
  d_->Open();
  d_->Step(0);
  StepAfter(std::chrono::seconds(1));
  d_->Reload();
  EXPECT_EQ(HostRawExcept({}), AllHostRaw("1", {}));
  EXPECT_EQ(LogCount("[host]"), 1u) << log_.str();  // "reloaded ... 0 [host] parameters"
  EXPECT_EQ(LogCount("0 [host] parameters"), 1u) << log_.str();
}

}  // namespace
}  // namespace kq::quantad
