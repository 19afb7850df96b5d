// SPDX-License-Identifier: GPL-2.0
// quantactl: knob validation, the write order and rollback (against a fake
// kernel and a fake sysfs directory), VM resolution, status table and JSON,
// record/replay round trip, and the binary's exit codes.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "knobs.hpp"
#include "recording.hpp"
#include "status.hpp"
#include "store.hpp"
#include "sysfs.hpp"
#include "thresholds.h"

namespace fs = std::filesystem;

namespace kq::ctl {
using kq::VmDir;
namespace {

KnobValues Defaults() {
  return {
      {"enabled", 1},           {"min_quantum_us", 1000}, {"base_quantum_us", 4000},
      {"max_quantum_us", 8000}, {"weight", 100},          {"group", 0},
  };
}

// The kernel's rules for vms/<vm>/policy/: ranges, and min <= base <= max
// after every single write; optionally fails the n-th write.
struct FakeKernel {
  KnobValues v = Defaults();
  std::vector<std::string> log;
  int fail_at = -1;  // index of the write that fails with EIO
  int writes = 0;
  int Write(const std::string& k, uint64_t val) {
    if (writes++ == fail_at) return EIO;
    const KnobSpec* s = FindKnob(VmKnobs(), k);
    if (!s) return ENOENT;
    if (val < s->lo || val > s->hi) return ERANGE;
    KnobValues next = v;
    next[k] = val;
    std::string why;
    if (!QuantaOrdered(next, &why)) return EINVAL;
    v = next;
    log.push_back(k + "=" + std::to_string(val));
    return 0;
  }
  KnobWriter Writer() {
    return [this](const std::string& k, uint64_t val) { return Write(k, val); };
  }
};

TEST(ParseAssignments, Good) {
  std::string err;
  auto v = ParseAssignments({"min_quantum_us=100", "weight=10000", "enabled=0"}, VmKnobs(), &err);
  ASSERT_TRUE(v) << err;
  EXPECT_EQ(v->at("min_quantum_us"), 100u);
  EXPECT_EQ(v->at("weight"), 10000u);
  EXPECT_EQ(v->at("enabled"), 0u);
}

TEST(ParseAssignments, Refused) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "nothing to set"},
      {{"min_quantum_us"}, "expected key=value"},
      {{"=5"}, "expected key=value"},
      {{"quantum=5"}, "unknown key 'quantum'"},
      {{"weight=abc"}, "not a decimal number"},
      {{"weight=-1"}, "not a decimal number"},
      {{"weight="}, "not a decimal number"},
      {{"weight=0"}, "out of range 1..10000"},
      {{"max_quantum_us=100001"}, "out of range 100..100000"},
      {{"min_quantum_us=99"}, "out of range"},
      {{"enabled=2"}, "out of range 0..1"},
      {{"weight=5", "weight=6"}, "given twice"},
      {{"weight=99999999999999999999"}, "not a decimal number"},
  };
  for (const auto& [args, want] : cases) {
    std::string err;
    EXPECT_FALSE(ParseAssignments(args, VmKnobs(), &err));
    EXPECT_NE(err.find(want), std::string::npos) << "got: " << err << ", want: " << want;
  }
}

TEST(QuantaOrdered, Checks) {
  std::string err;
  KnobValues v = Defaults();
  EXPECT_TRUE(QuantaOrdered(v, &err));
  v["min_quantum_us"] = 5000;
  EXPECT_FALSE(QuantaOrdered(v, &err));
  EXPECT_NE(err.find("5000, 4000, 8000"), std::string::npos) << err;
}

// Every change between valid settings on a grid is applied in an order the
// kernel accepts at every step.
TEST(PlanWrites, OrderKeepsMinBaseMax) {
  const std::array<uint64_t, 5> vals = {100, 1000, 4000, 8000, 100000};
  int plans = 0;
  for (uint64_t m0 : vals)
    for (uint64_t b0 : vals)
      for (uint64_t x0 : vals) {
        if (!(m0 <= b0 && b0 <= x0)) continue;
        for (uint64_t m1 : vals)
          for (uint64_t b1 : vals)
            for (uint64_t x1 : vals) {
              if (!(m1 <= b1 && b1 <= x1)) continue;
              FakeKernel k;
              k.v["min_quantum_us"] = m0;
              k.v["base_quantum_us"] = b0;
              k.v["max_quantum_us"] = x0;
              const KnobValues cur = k.v;
              const KnobValues ch = {
                  {"min_quantum_us", m1}, {"base_quantum_us", b1}, {"max_quantum_us", x1}};
              auto plan = PlanWrites(cur, ch);
              auto r = ApplyWrites(plan, cur, k.Writer());
              ASSERT_TRUE(r.ok) << m0 << "/" << b0 << "/" << x0 << " -> " << m1 << "/" << b1 << "/"
                                << x1 << " failed at " << r.failed_key;
              EXPECT_EQ(k.v["min_quantum_us"], m1);
              EXPECT_EQ(k.v["base_quantum_us"], b1);
              EXPECT_EQ(k.v["max_quantum_us"], x1);
              ++plans;
            }
      }
  EXPECT_GT(plans, 100);
}

TEST(PlanWrites, SkipsUnchangedAndOrdersWidenFirst) {
  auto plan = PlanWrites(Defaults(), {{"min_quantum_us", 1000},
                                      {"base_quantum_us", 20000},
                                      {"max_quantum_us", 50000},
                                      {"weight", 200}});
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].key, "max_quantum_us");
  EXPECT_EQ(plan[1].key, "base_quantum_us");
  EXPECT_EQ(plan[2].key, "weight");
  plan = PlanWrites(Defaults(),
                    {{"min_quantum_us", 200}, {"base_quantum_us", 300}, {"max_quantum_us", 400}});
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].key, "min_quantum_us");
  EXPECT_EQ(plan[1].key, "base_quantum_us");
  EXPECT_EQ(plan[2].key, "max_quantum_us");
}

TEST(ApplyWrites, RollsBackOnFailure) {
  for (int fail_at = 0; fail_at < 4; ++fail_at) {
    FakeKernel k;
    k.fail_at = fail_at;
    const KnobValues cur = k.v;
    const KnobValues ch = {{"min_quantum_us", 10000},
                           {"base_quantum_us", 20000},
                           {"max_quantum_us", 30000},
                           {"weight", 7}};
    auto plan = PlanWrites(cur, ch);
    ASSERT_EQ(plan.size(), 4u);
    auto r = ApplyWrites(plan, cur, k.Writer());
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, EIO);
    EXPECT_EQ(r.written, static_cast<size_t>(fail_at));
    EXPECT_EQ(r.restored, static_cast<size_t>(fail_at));
    EXPECT_TRUE(r.restore_failed.empty());
    EXPECT_EQ(k.v, cur) << "fail at " << fail_at;
  }
}

// ---------------------------------------------------------------- fake sysfs
class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("quantactl-test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    Put("mode", "observe");
    AddVm("123-4", 2);
    AddVm("200-5", 1);
    AddVm("200-6", 1);
  }
  void TearDown() override { fs::remove_all(root_); }
  void Put(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text << "\n";
  }
  std::string Get(const std::string& rel) {
    std::ifstream f(root_ / rel);
    std::string s;
    std::getline(f, s);
    return s;
  }
  void AddVm(const std::string& dir, int vcpus) {
    Put("vms/" + dir + "/pid", dir.substr(0, dir.find('-')));
    for (const auto& [k, v] : Defaults()) Put("vms/" + dir + "/policy/" + k, std::to_string(v));
    for (int i = 0; i < vcpus; ++i) {
      const std::string d = "vms/" + dir + "/vcpus/" + std::to_string(i) + "/";
      Put(d + "tid", std::to_string(1000 + i));
      Put(d + "exits", "42");
      Put(d + "exit_reasons", "io 40\nmmio 0\nhlt 2");
      Put(d + "target_quantum_us", "1000");
      Put(d + "reason", "exit_heavy");
      Put(d + "debt_us", "-250");
      Put(d + "window/quantum_ns", "none");
      Put(d + "window/exits", "7");
    }
  }
  // Runs the quantactl binary; returns its exit code, stdout in *out.
  int Run(const std::string& args, std::string* out = nullptr) {
    const fs::path sysfs = sysfs_.empty() ? root_ : sysfs_;
    const std::string cmd = std::string(QUANTACTL_BIN) + " --sysfs " + sysfs.string() + " " + args +
                            " 2>" + (root_ / "stderr").string();
    FILE* p = popen(cmd.c_str(), "r");
    std::string s;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) s.append(buf, n);
    const int st = pclose(p);
    if (out) *out = s;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  std::string Stderr() {
    std::ifstream f(root_ / "stderr");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  std::string Policy(const std::string& vm) {
    std::string s;
    for (const auto& [k, v] : Defaults()) s += k + "=" + Get("vms/" + vm + "/policy/" + k) + " ";
    return s;
  }
  fs::path root_;
  fs::path sysfs_;  // --sysfs when not empty (a module that is not there)
};

TEST_F(FakeSysfs, ResolveVm) {
  Sysfs sys(root_);
  std::string err;
  ASSERT_EQ(sys.ListVms().size(), 3u);
  EXPECT_EQ(sys.ResolveVm("123-4", &err)->dir, "123-4");
  EXPECT_EQ(sys.ResolveVm("123", &err)->vm_id, 4u);
  EXPECT_FALSE(sys.ResolveVm("200", &err));
  EXPECT_NE(err.find("200-5 200-6"), std::string::npos) << err;
  EXPECT_FALSE(sys.ResolveVm("999", &err));
  EXPECT_FALSE(sys.ResolveVm("123-9", &err));
  EXPECT_FALSE(sys.ResolveVm("abc", &err));
  EXPECT_EQ(sys.VcpuIndices(*sys.ResolveVm("123-4", &err)), (std::vector<uint32_t>{0, 1}));
}

TEST_F(FakeSysfs, VmTree) {
  Sysfs sys(root_);
  std::string err;
  auto t = sys.VmTree(*sys.ResolveVm("123-4", &err));
  EXPECT_EQ(t["pid"], 123);
  EXPECT_EQ(t["policy"]["base_quantum_us"], 4000);
  EXPECT_EQ(t["vcpus"]["1"]["exit_reasons"]["io"], 40);
  EXPECT_EQ(t["vcpus"]["1"]["debt_us"], -250);
  EXPECT_EQ(t["vcpus"]["0"]["reason"], "exit_heavy");
  EXPECT_TRUE(t["vcpus"]["0"]["window"]["quantum_ns"].is_null());
}

TEST_F(FakeSysfs, SetWritesAll) {
  std::string out;
  EXPECT_EQ(Run("set 123 min_quantum_us=10000 base_quantum_us=20000 max_quantum_us=30000 "
                "weight=50",
                &out),
            0)
      << Stderr();
  EXPECT_EQ(Policy("123-4"),
            "base_quantum_us=20000 enabled=1 group=0 max_quantum_us=30000 "
            "min_quantum_us=10000 weight=50 ");
  // Order: widen max, base, then raise min; weight last.
  EXPECT_LT(out.find("max_quantum_us"), out.find("base_quantum_us"));
  EXPECT_LT(out.find("base_quantum_us"), out.find("min_quantum_us"));
  EXPECT_EQ(Policy("200-5").find("weight=100") != std::string::npos, true);
  EXPECT_EQ(Run("--json set 123-4 weight=50", &out), 0);
  EXPECT_NE(out.find("\"writes\":[]"), std::string::npos) << out;
}

TEST_F(FakeSysfs, SetRefusesBadValuesAndChangesNothing) {
  const std::string before = Policy("123-4");
  EXPECT_EQ(Run("set 123-4 weight=0"), 2);
  EXPECT_NE(Stderr().find("weight=0: out of range 1..10000"), std::string::npos) << Stderr();
  EXPECT_EQ(Run("set 123-4 base_quantum_us=9000"), 2);
  EXPECT_NE(Stderr().find("min_quantum_us <= base_quantum_us <= max_quantum_us"),
            std::string::npos);
  EXPECT_EQ(Run("set 123-4 bogus=1"), 2);
  EXPECT_EQ(Run("set 123-4 min_quantum_us=200 weight=x"), 2);
  EXPECT_EQ(Run("set 123-4"), 2);
  EXPECT_EQ(Run("set 200 weight=5"), 1);  // two VMs
  EXPECT_EQ(Run("set 999 weight=5"), 1);
  EXPECT_EQ(Policy("123-4"), before);
}

// A VM's group (0 none, 1..65535) through the same writer as every knob:
// out-of-range or malformed values are refused and nothing is written.
TEST_F(FakeSysfs, SetGroup) {
  std::string out;
  EXPECT_EQ(Run("set 123-4 group=7", &out), 0) << Stderr();
  EXPECT_EQ(out, "123-4: group 0 -> 7\n");
  EXPECT_EQ(Get("vms/123-4/policy/group"), "7");
  EXPECT_EQ(Run("--json set 123-4 group=65535 weight=300", &out), 0) << Stderr();
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["policy"]["group"], 65535);
  EXPECT_EQ(j["writes"][0]["key"], "group");
  EXPECT_EQ(j["writes"][0]["old"], 7);
  EXPECT_EQ(Get("vms/123-4/policy/group"), "65535");
  EXPECT_EQ(Run("set 123-4 group=0", &out), 0) << Stderr();
  EXPECT_EQ(Get("vms/123-4/policy/group"), "0");
  const std::string before = Policy("123-4");
  for (const auto& [arg, want] : std::vector<std::pair<std::string, std::string>>{
           {"group=65536", "group=65536: out of range 0..65535"},
           {"group=-1", "group=-1: not a decimal number (allowed 0..65535)"},
           {"group=web", "group=web: not a decimal number (allowed 0..65535)"},
           {"group=", "group=: not a decimal number (allowed 0..65535)"},
           {"group=99999999999999999999", "not a decimal number"},
           {"weight=200 group=70000", "group=70000: out of range 0..65535"},
           {"group=1 group=2", "group given twice"}}) {
    EXPECT_EQ(Run("set 123-4 " + arg), 2) << arg;
    EXPECT_NE(Stderr().find(want), std::string::npos) << arg << ": " << Stderr();
  }
  EXPECT_EQ(Policy("123-4"), before);
  // The help names the knob and its range.
  EXPECT_EQ(Run("set --help", &out), 0);
  EXPECT_NE(out.find("group 0..65535"), std::string::npos) << out;
}

TEST_F(FakeSysfs, SetRollsBackWhenAWriteFails) {
  // weight is written last; make it unwritable (a directory).
  fs::remove(root_ / "vms/123-4/policy/weight");
  fs::create_directories(root_ / "vms/123-4/policy/weight");
  Put("vms/123-4/policy/weight/x", "");
  // ReadKnobs needs a number: reading a directory fails, so give it one
  // through a file of another VM instead: test rollback on 200-5.
  fs::remove(root_ / "vms/200-5/policy/max_quantum_us");
  fs::create_directories(root_ / "vms/200-5/policy/max_quantum_us");
  EXPECT_EQ(Run("set 123-4 weight=5"), 1);
  EXPECT_NE(Stderr().find("cannot read"), std::string::npos) << Stderr();
}

TEST(ApplyWritesSysfs, RollbackRestoresFiles) {
  const fs::path root = fs::temp_directory_path() / ("quantactl-rb-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "vms/1-1/policy");
  for (const auto& [k, v] : Defaults()) {
    std::ofstream(root / "vms/1-1/policy" / k) << v << "\n";
  }
  Sysfs sys(root);
  const VmDir vm{"1-1", 1, 1};
  std::string err;
  auto cur = sys.ReadKnobs(VmPolicyDir(vm), VmKnobs(), &err);
  ASSERT_TRUE(cur) << err;
  const KnobValues ch = {{"min_quantum_us", 500}, {"base_quantum_us", 600}, {"weight", 3}};
  auto plan = PlanWrites(*cur, ch);
  ASSERT_EQ(plan.back().key, "weight");
  // The weight write fails: a directory now.
  fs::remove(root / "vms/1-1/policy/weight");
  fs::create_directories(root / "vms/1-1/policy/weight");
  auto r = ApplyWrites(plan, *cur, sys.Writer(VmPolicyDir(vm)));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_key, "weight");
  EXPECT_EQ(r.error, EISDIR);
  EXPECT_EQ(r.written, 2u);
  EXPECT_EQ(r.restored, 2u);
  EXPECT_EQ(*sys.Read("vms/1-1/policy/min_quantum_us"), "1000");
  EXPECT_EQ(*sys.Read("vms/1-1/policy/base_quantum_us"), "4000");
  fs::remove_all(root);
}

TEST_F(FakeSysfs, Mode) {
  std::string out;
  EXPECT_EQ(Run("mode", &out), 0);
  EXPECT_EQ(out, "observe\n");
  EXPECT_EQ(Run("mode enforce", &out), 0);
  EXPECT_EQ(Get("mode"), "enforce");
  EXPECT_EQ(Run("--json mode", &out), 0);
  EXPECT_EQ(out, "{\"mode\":\"enforce\"}\n");
  EXPECT_EQ(Run("mode fast"), 2);
  EXPECT_EQ(Get("mode"), "enforce");
}

TEST_F(FakeSysfs, Show) {
  std::string out;
  EXPECT_EQ(Run("show 123-4", &out), 0);
  EXPECT_NE(out.find("policy/\n  base_quantum_us: 4000\n"), std::string::npos) << out;
  EXPECT_NE(out.find("    exit_reasons:\n      io 40\n      mmio 0\n      hlt 2\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(Run("--json show 123", &out), 0);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["vm"], "123-4");
  EXPECT_EQ(j["sysfs"]["vcpus"]["0"]["tid"], 1000);
  EXPECT_EQ(Run("show 7"), 1);
  EXPECT_EQ(Run("show"), 2);
  EXPECT_EQ(Run("frobnicate"), 2);
  EXPECT_EQ(Run(""), 2);
}

TEST_F(FakeSysfs, StatusTableAndJson) {
  Sysfs sys(root_);
  nl::VcpuSample v;
  v.vm_id = 4;
  v.pid = 123;
  v.vcpu_idx = 1;
  v.tid = 1001;
  v.quantum_ns = 6'940'000;
  v.exit_rate_milli = 12'500;
  v.mean_run_ns = 80'000;
  // The module's group shift of vCPU 1 ("<applied> <lasting>"); vCPU 0's
  // file is missing (a module without groups).
  Put("vms/123-4/vcpus/1/group_shift_pct", "-12 -10");
  Put("vms/200-5/vcpus/0/group_shift_pct", "0 0");
  Put("vms/200-6/vcpus/0/group_shift_pct", "20 10");
  Status s = BuildStatus(sys, {v}, [](uint32_t pid) { return pid == 123 ? "web1" : "pid-200"; });
  ASSERT_EQ(s.rows.size(), 4u);
  EXPECT_EQ(s.mode, "observe");
  const std::string t = FormatStatusTable(s);
  EXPECT_NE(t.find("mode observe, 4 vCPUs\n"), std::string::npos) << t;
  EXPECT_NE(t.find("VM     NAME     VCPU   TID  QUANTUM_MS  TARGET_MS  REASON      EXITS/MS  "
                   "MEAN_RUN_US  IPC  DEBT_MS  GROUP_PCT\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("123-4  web1        1  1001        6.94       1.00  exit_heavy     12.50        "
                   "80.00    -    -0.25    -12/-10\n"),
            std::string::npos)
      << t;
  EXPECT_NE(
      t.find("123-4  web1        0  1000           -       1.00  exit_heavy         -            "
             "-    -    -0.25          -\n"),
      std::string::npos)
      << t;
  EXPECT_NE(t.find("    -0.25        0/0\n"), std::string::npos) << t;
  EXPECT_NE(t.find("    -0.25    +20/+10\n"), std::string::npos) << t;
  auto j = StatusJson(s);
  ASSERT_EQ(j["vms"].size(), 3u);
  EXPECT_EQ(j["vms"][0]["vm"], "123-4");
  EXPECT_EQ(j["vms"][0]["name"], "web1");
  EXPECT_EQ(j["vms"][1]["name"], "pid-200");
  EXPECT_EQ(j["vms"][0]["vcpus"].size(), 2u);
  EXPECT_EQ(j["vms"][0]["vcpus"][1]["quantum_ns"], 6'940'000u);
  EXPECT_EQ(j["vms"][0]["vcpus"][1]["debt_ns"], -250'000);
  EXPECT_EQ(j["vms"][0]["vcpus"][1]["target_ns"], 1'000'000u);
  EXPECT_TRUE(j["vms"][0]["vcpus"][0]["ipc_milli"].is_null());
  EXPECT_TRUE(j["vms"][0]["vcpus"][0]["group_shift_pct"].is_null());
  EXPECT_TRUE(j["vms"][0]["vcpus"][0]["group_lasting_pct"].is_null());
  EXPECT_EQ(j["vms"][0]["vcpus"][1]["group_shift_pct"], -12);
  EXPECT_EQ(j["vms"][0]["vcpus"][1]["group_lasting_pct"], -10);
  EXPECT_EQ(j["vms"][2]["vcpus"][0]["group_shift_pct"], 20);
  EXPECT_EQ(j["vms"][2]["vcpus"][0]["group_lasting_pct"], 10);
  EXPECT_EQ(j["vms"][2]["vm"], "200-6");
}

// ---------------------------------------------------------------- record/replay
nl::VcpuSample Sample(uint64_t vm_id, uint32_t idx, bool io) {
  nl::VcpuSample v;
  v.vm_id = vm_id;
  v.pid = 50;
  v.vcpu_idx = idx;
  v.tid = static_cast<uint32_t>(500 + vm_id * 10 + idx);
  v.cpu = 0;
  v.window_ns = 100'000'000;
  v.guest_ns = 30'000'000;
  v.exits = io ? 30'000 : 10;  // 1000 vs 0.33 exits per guest ms
  std::array<uint64_t, nl::kExitKinds> k{};
  k[KVM_QUANTA_EXIT_IO] = *v.exits;
  v.exit_kinds = k;
  // On one CPU, equally runnable: the compute vCPU ran 60 of 80 ms.
  v.run_ns = io ? 20'000'000 : 60'000'000;
  v.wait_ns = io ? 60'000'000 : 20'000'000;
  v.slices = 5;
  v.halt_ns = 0;
  v.exit_rate_milli = *v.exits * 1'000'000'000 / *v.guest_ns;
  v.mean_run_ns = *v.guest_ns / *v.exits;
  v.quantum_ns = *v.run_ns / *v.slices;
  return v;
}

TEST(Recording, SampleRoundTrip) {
  nl::VcpuSample v = Sample(3, 1, true);
  std::array<std::optional<uint64_t>, nl::kPmuRoles> pmu{};
  pmu[0] = 1000;
  v.pmu = pmu;
  v.ipc_milli = 700;
  std::string err;
  auto back = SampleFromJson(nlohmann::json::parse(SampleToJson(v).dump()), &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(SampleToJson(*back), SampleToJson(v));
  EXPECT_EQ(back->exit_kinds, v.exit_kinds);
  EXPECT_EQ(back->pmu, v.pmu);
  EXPECT_FALSE((*back->pmu)[1].has_value());
  EXPECT_FALSE(SampleFromJson(nlohmann::json::parse("{\"vm_id\":1}"), &err));
  EXPECT_FALSE(SampleFromJson(
      nlohmann::json::parse("{\"vm_id\":1,\"pid\":2,\"vcpu_idx\":0,\"tid\":3,\"exits\":\"x\"}"),
      &err));
  // Guest time by CPU: objects {cpu, ns}, at least one.
  v.guest_ns_by_cpu = {{{2, 7}, {0, 9}}};
  back = SampleFromJson(nlohmann::json::parse(SampleToJson(v).dump()), &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->guest_ns_by_cpu, v.guest_ns_by_cpu);
  const std::string id = "{\"vm_id\":1,\"pid\":2,\"vcpu_idx\":0,\"tid\":3,\"guest_ns_by_cpu\":";
  for (const char* bad :
       {"[]", "{}", "[{\"cpu\":0}]", "[{\"cpu\":-1,\"ns\":1}]", "[{\"cpu\":0,\"ns\":\"1\"}]",
        "[{\"cpu\":4294967296,\"ns\":1}]", "[1,2]", "[{\"cpu\":0,\"ns\":1},{\"ns\":1}]"}) {
    err.clear();
    EXPECT_FALSE(SampleFromJson(nlohmann::json::parse(id + bad + "}"), &err)) << bad;
    EXPECT_NE(err.find("guest_ns_by_cpu"), std::string::npos) << bad << ": " << err;
  }
}

// A recording: the header, the lines in `vms`, then `windows` windows of
// 100 ms with the samples vcpus() makes.
std::string RecordingOf(int windows, const std::function<std::vector<nl::VcpuSample>()>& vcpus,
                        const std::string& vms = "") {
  std::string s =
      "{\"type\":\"header\",\"version\":1,\"interval_ms\":100,\"mode\":\"observe\","
      "\"params\":{}}\n" +
      vms;
  for (int i = 0; i < windows; ++i) {
    nl::Window w;
    w.seq = static_cast<uint64_t>(i + 1);
    w.time_ns = static_cast<uint64_t>(i + 1) * 100'000'000;
    w.vcpus = vcpus();
    w.nr_vcpus = static_cast<uint32_t>(w.vcpus.size());
    s += WindowLine(w).dump() + "\n";
  }
  return s;
}

std::string Write(int windows) {
  return RecordingOf(
      windows,
      [] {
        return std::vector<nl::VcpuSample>{Sample(1, 0, true), Sample(2, 0, false)};
      },
      "{\"type\":\"vm\",\"vm\":\"50-1\",\"pid\":50,\"vm_id\":1,\"policy\":{\"enabled\":1,"
      "\"min_quantum_us\":1000,\"base_quantum_us\":4000,\"max_quantum_us\":8000,\"weight\":100}}"
      "\n");
}

TEST(Recording, ReplayRoundTrip) {
  std::istringstream in(Write(20));
  std::string err;
  auto rec = ReadRecording(in, &err);
  ASSERT_TRUE(rec) << err;
  ASSERT_EQ(rec->windows.size(), 20u);
  ASSERT_EQ(rec->vms.size(), 1u);
  auto r = Replay(*rec, {}, {}, &err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->windows, 20u);
  ASSERT_EQ(r->vms.size(), 2u);
  const auto& io = r->vms.at(1).vcpus.at(0);
  EXPECT_EQ(io.windows, 20u);
  ASSERT_TRUE(io.by_reason.count("exit_heavy"));
  EXPECT_EQ(io.by_reason.at("exit_heavy").target_ns_sum / io.by_reason.at("exit_heavy").windows,
            1'000'000u);
  EXPECT_EQ(io.run_ns / io.slices, 4'000'000u);
  // Fair share is 40 ms a window each: the compute vCPU owes 20 ms more
  // every window from its second on, as in the module (the ledger never
  // forgives), the I/O one is owed.
  const int64_t debt = r->vms.at(2).vcpus.at(0).debt_ns;
  EXPECT_EQ(debt, 19 * 20'000'000);
  EXPECT_EQ(r->vms.at(1).vcpus.at(0).debt_ns, -debt);
  ASSERT_TRUE(r->vms.at(2).vcpus.at(0).by_reason.count("payback"));
  auto j = ReplayJson(*r);
  EXPECT_EQ(j["vms"][0]["vm"], "50-1");
  EXPECT_DOUBLE_EQ(j["vms"][0]["run_share"].get<double>(), 0.25);
  EXPECT_EQ(j["vms"][0]["vcpus"][0]["mean_achieved_ns"], 4'000'000u);
  EXPECT_EQ(j["vms"][0]["ledger_ns"], -debt);
  EXPECT_EQ(j["vms"][0]["vcpus"][0]["by_reason"]["exit_heavy"]["mean_target_ns"], 1'000'000u);
  const std::string text = FormatReplay(*r);
  EXPECT_NE(text.find("VM 50-1  quanta 1000/4000/8000 us"), std::string::npos) << text;
  EXPECT_NE(text.find("VM 50-2"), std::string::npos) << text;

  // What-if: a shorter minimum for every VM.
  auto r2 = Replay(*rec, {{"min_quantum_us", 500}}, {{"heavy_exit_rate_milli", 5000}}, &err);
  ASSERT_TRUE(r2) << err;
  const auto& io2 = r2->vms.at(1).vcpus.at(0);
  EXPECT_EQ(io2.by_reason.at("exit_heavy").target_ns_sum / io2.windows, 500'000u);
  EXPECT_EQ(r2->params.at("heavy_exit_rate_milli"), 5000u);
  // Invalid as a whole.
  EXPECT_FALSE(Replay(*rec, {{"min_quantum_us", 9000}}, {}, &err));
  EXPECT_NE(err.find("min_quantum_us <= base_quantum_us"), std::string::npos) << err;
}

// libvirt's cpu shares are per VM, and so is the module's weight
// (kq_ledger_weight): a VM with two busy vCPUs competes like a one-vCPU VM
// of the same weight.  Three vCPUs on one CPU, each running 30 of 90 ms
// runnable: the lone vCPU of VM 2 was due about twice each of VM 1's, so it
// is owed and they owe.  Weighing each vCPU by its VM's full weight (what
// replay did) found this split fair.
TEST(Recording, ReplayWeighsPerVm) {
  std::istringstream in(RecordingOf(10, [] {
    std::vector<nl::VcpuSample> vcpus = {Sample(1, 0, false), Sample(1, 1, false),
                                         Sample(2, 0, false)};
    for (auto& v : vcpus) {
      v.run_ns = 30'000'000;
      v.wait_ns = 60'000'000;
    }
    return vcpus;
  }));
  std::string err;
  auto rec = ReadRecording(in, &err);
  ASSERT_TRUE(rec) << err;
  auto r = Replay(*rec, {}, {}, &err);
  ASSERT_TRUE(r) << err;
  const int64_t a0 = r->vms.at(1).vcpus.at(0).debt_ns;
  const int64_t a1 = r->vms.at(1).vcpus.at(1).debt_ns;
  const int64_t b = r->vms.at(2).vcpus.at(0).debt_ns;
  EXPECT_GT(a0, 5'000'000 * 9) << a0;                                    // about +6.9 ms a window
  EXPECT_LE(std::llabs(a0 - a1), 9 * 2);                                 // rounding only
  EXPECT_LT(b, -10'000'000 * 9) << b;                                    // about -13.8 ms a window
  EXPECT_LE(std::llabs(a0 + a1 + b), 9) << a0 << " " << a1 << " " << b;  // rounding only
}

// Replay derives the PMU thresholds from the recording's windows as the
// module does from the host's (kq_thresholds_apply): on a processor with a
// small LLC (25 to 60 MPKI every window) the constants never call a window
// warm; after the cold start the host's own thresholds call the
// cache-friendliest quarter warm.
TEST(Recording, ReplayHostThresholds) {
  int i = 0;
  std::istringstream in(RecordingOf(600, [&i] {
    nl::VcpuSample v = Sample(1, 0, false);
    v.wait_ns = 0;
    const uint64_t u = (i++ * 37) % 100, cycles = 90'000'000, insns = cycles * (900 - u * 5) / 1000;
    std::array<std::optional<uint64_t>, nl::kPmuRoles> pmu{};
    pmu[KVM_QUANTA_EV_CYCLES] = cycles;
    pmu[KVM_QUANTA_EV_INSTRUCTIONS] = insns;
    pmu[KVM_QUANTA_EV_LLC_MISSES] = insns * (25'000 + u * 350) / 1'000'000;
    v.pmu = pmu;
    return std::vector<nl::VcpuSample>{v};
  }));
  std::string err;
  auto rec = ReadRecording(in, &err);
  ASSERT_TRUE(rec) << err;
  auto fixed = Replay(*rec, {}, {{"host_thresholds", 0}}, &err);
  ASSERT_TRUE(fixed) << err;
  EXPECT_FALSE(fixed->vms.at(1).vcpus.at(0).by_reason.count("warm"));
  auto host = Replay(*rec, {}, {}, &err);
  ASSERT_TRUE(host) << err;
  EXPECT_EQ(host->params.at("host_thresholds"), 1u);
  const auto& reasons = host->vms.at(1).vcpus.at(0).by_reason;
  ASSERT_TRUE(reasons.count("warm"));
  EXPECT_GT(reasons.at("warm").windows, (600u - KQ_DIST_MIN) * 20 / 100);
  EXPECT_LT(reasons.at("warm").windows, (600u - KQ_DIST_MIN) * 35 / 100);
}

// A request server beside a hog: woken 40 times a window, 250 us on the CPU
// each time, halted 80 of 100 ms.  Replay decides latency (its minimum as
// its slice) with the default burst bound and idle with the class off or
// with a bound below its bursts; the hog is untouched either way.
TEST(Recording, ReplayLatencyClass) {
  const std::string text = RecordingOf(10, [] {
    nl::VcpuSample server = Sample(1, 0, true), hog = Sample(2, 0, false);
    server.run_ns = 10'000'000;
    server.wait_ns = 10'000'000;
    server.slices = 40;
    server.halt_ns = 80'000'000;
    server.guest_ns = 8'000'000;
    server.exits = 400;
    server.quantum_ns = 250'000;
    return std::vector<nl::VcpuSample>{server, hog};
  });
  std::string err;
  std::istringstream in(text);
  auto rec = ReadRecording(in, &err);
  ASSERT_TRUE(rec) << err;
  for (const auto& [param, want] :
       std::vector<std::pair<KnobValues, std::string>>{{{}, "latency"},
                                                       {{{"latency_burst_us", 250}}, "latency"},
                                                       {{{"latency_burst_us", 249}}, "idle"},
                                                       {{{"latency_burst_us", 0}}, "idle"}}) {
    auto r = Replay(*rec, {}, param, &err);
    ASSERT_TRUE(r) << err;
    const auto& server = r->vms.at(1).vcpus.at(0);
    ASSERT_EQ(server.by_reason.size(), 1u) << want;
    ASSERT_TRUE(server.by_reason.count(want)) << want;
    const auto& d = server.by_reason.at(want);
    EXPECT_EQ(d.windows, 10u);
    // Idle is the base, which the exit-heavy history lowers a little.
    if (want == "latency")
      EXPECT_EQ(d.target_ns_sum / d.windows, 1'000'000u);
    else
      EXPECT_GT(d.target_ns_sum / d.windows, 3'500'000u);
    EXPECT_FALSE(r->vms.at(2).vcpus.at(0).by_reason.count("latency"));
  }
}

// An unpinned vCPU is charged on each CPU where it ran, as the module
// charges it (the guest time by CPU in its samples).  CPU 0 and 1 each have
// an always-runnable pinned vCPU; a third ran 25 ms on each of them in every
// 100 ms window and ended the windows on CPU 1.  Split, every share is fair:
// no debt.  Charged whole to CPU 1 (a recording without the split), CPU 1
// looks oversubscribed and debts grow every window.
TEST(Recording, ReplayChargesEachCpu) {
  auto recording = [](bool split) {
    return RecordingOf(10, [split] {
      std::vector<nl::VcpuSample> vcpus = {Sample(1, 0, false), Sample(2, 0, false),
                                           Sample(3, 0, false)};
      vcpus[0].cpu = 0;
      vcpus[1].cpu = 1;
      for (int k = 0; k < 2; ++k) {
        vcpus[k].run_ns = 75'000'000;
        vcpus[k].wait_ns = 25'000'000;
      }
      vcpus[2].cpu = 1;
      vcpus[2].run_ns = 50'000'000;
      vcpus[2].wait_ns = 50'000'000;
      if (split) vcpus[2].guest_ns_by_cpu = {{{0, 20'000'000}, {1, 20'000'000}}};
      return vcpus;
    });
  };
  for (bool split : {true, false}) {
    std::istringstream in(recording(split));
    std::string err;
    auto rec = ReadRecording(in, &err);
    ASSERT_TRUE(rec) << err;
    auto r = Replay(*rec, {}, {}, &err);
    ASSERT_TRUE(r) << err;
    int64_t worst = 0;
    for (uint64_t vm : {1, 2, 3})
      worst = std::max<int64_t>(worst, std::llabs(r->vms.at(vm).vcpus.at(0).debt_ns));
    if (split)
      EXPECT_LE(worst, 9) << "rounding only";
    else
      EXPECT_GT(worst, 9 * 5'000'000);
  }
}

// Phase placement in replay, as in the module: VMs 1 and 2 declared group
// 3 share CPU 0 with VM 3, in no group; each vCPU runnable the whole
// window, ran 30 of it.  VM 1 makes 10 exits a window (3 ms of guest time
// each), VM 2 30000: VM 1's weight moves up and VM 2's down, by the regimen
// (10%) and the lasting part (1% a window up to 10%), 20% at most; the
// ledger charges them against those weights, so VM 1 is owed and VM 2
// owes.  VM 3's fair share is the same as without the group: its ledger
// does not change.  A recording from before groups (no "group" in the VM
// lines), or group_shift_pct 0, shifts nothing.
TEST(Recording, ReplayGroupShiftsWeight) {
  const auto recording = [](bool grouped) {
    const std::string group = grouped ? ",\"group\":3" : "";
    std::string vms;
    for (int vm : {1, 2})
      vms += "{\"type\":\"vm\",\"vm\":\"50-" + std::to_string(vm) +
             "\",\"pid\":50,\"vm_id\":" + std::to_string(vm) +
             ",\"policy\":{\"enabled\":1,\"min_quantum_us\":1000,\"base_quantum_us\":4000,"
             "\"max_quantum_us\":8000,\"weight\":100" +
             group + "}}\n";
    return RecordingOf(
        20,
        [] {
          std::vector<nl::VcpuSample> vcpus = {Sample(1, 0, false), Sample(2, 0, true),
                                               Sample(3, 0, false)};
          for (auto& v : vcpus) {
            v.run_ns = 30'000'000;
            v.wait_ns = 70'000'000;
            v.guest_ns_by_cpu = {{{0, *v.guest_ns}}};
          }
          return vcpus;
        },
        vms);
  };
  std::string err;
  std::istringstream in(recording(true)), old_in(recording(false));
  auto rec = ReadRecording(in, &err);
  ASSERT_TRUE(rec) << err;
  auto old = ReadRecording(old_in, &err);
  ASSERT_TRUE(old) << err;
  EXPECT_EQ(rec->vms.at(1).policy.at("group"), 3u);
  EXPECT_FALSE(old->vms.at(1).policy.count("group"));

  auto r = Replay(*rec, {}, {}, &err);
  ASSERT_TRUE(r) << err;
  auto none = Replay(*old, {}, {}, &err);
  ASSERT_TRUE(none) << err;
  auto off = Replay(*rec, {}, {{"group_shift_pct", 0}}, &err);
  ASSERT_TRUE(off) << err;
  EXPECT_EQ(r->vms.at(1).policy.at("group"), 3u);
  EXPECT_EQ(r->vms.at(3).policy.at("group"), 0u);
  EXPECT_EQ(none->vms.at(1).policy.at("group"), 0u);

  const ReplayVcpu &a = r->vms.at(1).vcpus.at(0), &b = r->vms.at(2).vcpus.at(0),
                   &u = r->vms.at(3).vcpus.at(0);
  // 11, 12, ... 20, then 20: the regimen's 10 and the lasting part.
  const int64_t want = (11 + 12 + 13 + 14 + 15 + 16 + 17 + 18 + 19 + 20) + 10 * 20;
  EXPECT_EQ(a.group_shift_pct_sum, want);
  EXPECT_EQ(b.group_shift_pct_sum, -want);
  EXPECT_EQ(a.group_pct, 10);
  EXPECT_EQ(b.group_pct, -10);
  EXPECT_EQ(u.group_shift_pct_sum, 0);
  EXPECT_EQ(u.group_pct, 0);
  // Charged against the shifted weights: fair 90 ms x (100 + s) / 300.
  EXPECT_LT(a.debt_ns, -19 * 5'000'000) << a.debt_ns;
  EXPECT_GT(b.debt_ns, 19 * 5'000'000) << b.debt_ns;
  EXPECT_LE(std::llabs(a.debt_ns + b.debt_ns + u.debt_ns), 20);
  // The ungrouped VM: what it was owed without the group, to rounding.
  EXPECT_LE(std::llabs(u.debt_ns - none->vms.at(3).vcpus.at(0).debt_ns), 20) << u.debt_ns;
  for (const auto* res : {&*none, &*off})
    for (uint64_t vm : {1, 2, 3}) {
      const ReplayVcpu& v = res->vms.at(vm).vcpus.at(0);
      EXPECT_EQ(v.group_shift_pct_sum, 0) << vm;
      EXPECT_EQ(v.group_pct, 0) << vm;
      EXPECT_LE(std::llabs(v.debt_ns), 20) << vm;  // all fair: 30 ms each
    }

  const auto j = ReplayJson(*r);
  EXPECT_EQ(j["vms"][0]["policy"]["group"], 3);
  EXPECT_DOUBLE_EQ(j["vms"][0]["vcpus"][0]["mean_group_shift_pct"].get<double>(), want / 20.0);
  EXPECT_EQ(j["vms"][1]["vcpus"][0]["group_lasting_pct"], -10);
  EXPECT_DOUBLE_EQ(j["vms"][2]["vcpus"][0]["mean_group_shift_pct"].get<double>(), 0.0);
  const std::string text = FormatReplay(*r);
  EXPECT_NE(text.find("ledger -"), std::string::npos) << text;
  EXPECT_NE(text.find("  group 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("    group shift: mean +17.8%, lasting +10% at the end\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("    group shift: mean -17.8%, lasting -10% at the end\n"), std::string::npos)
      << text;
  EXPECT_EQ(FormatReplay(*none).find("group"), std::string::npos);

  // --policy group=N groups every VM: the ungrouped one joins the set.
  auto all = Replay(*old, {{"group", 7}}, {}, &err);
  ASSERT_TRUE(all) << err;
  EXPECT_GT(all->vms.at(3).vcpus.at(0).group_shift_pct_sum, 0);
  EXPECT_LT(all->vms.at(2).vcpus.at(0).group_shift_pct_sum, 0);
}

TEST(Recording, BadInput) {
  std::string err;
  std::istringstream a("{\"type\":\"window\",\"vcpus\":[{\"vm_id\":1}]}\n");
  EXPECT_FALSE(ReadRecording(a, &err));
  EXPECT_NE(err.find("line 1"), std::string::npos);
  std::istringstream b("{\"type\":\"header\",\"version\":1}\nnot json\n");
  EXPECT_FALSE(ReadRecording(b, &err));
  EXPECT_NE(err.find("line 2"), std::string::npos);
}

// Every malformed recording is an error with its line, never an abort or
// a silent narrowing (issue 12, defect 2).
TEST_F(FakeSysfs, ReplayIsTotal) {
  const std::string hdr = "{\"type\":\"header\",\"version\":1,\"params\":{}}\n";
  const std::string vm = "{\"type\":\"vm\",\"vm\":\"50-1\",\"pid\":50,\"vm_id\":1,\"policy\":{}}\n";
  const std::string win =
      "{\"type\":\"window\",\"seq\":1,\"time_ns\":5,\"vcpus\":[{\"vm_id\":1,\"pid\":50,"
      "\"vcpu_idx\":0,\"tid\":7,\"run_ns\":100,\"slices\":1}]}\n";
  std::ofstream(root_ / "ok.jsonl") << hdr << vm << win;
  EXPECT_EQ(Run("replay " + (root_ / "ok.jsonl").string()), 0) << Stderr();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty recording"},
      {hdr, "no windows"},
      {hdr + vm, "no windows"},
      {"{\"type\":1}\n", "line 1: \"type\" missing or not a string"},
      {"[1,2]\n", "line 1: not a JSON object"},
      {win, "line 1: expected the header first"},
      {"{\"type\":\"header\",\"version\":2}\n" + win, "recording version 2 is not supported"},
      {"{\"type\":\"header\",\"version\":\"1\"}\n" + win, "without an unsigned \"version\""},
      {"{\"type\":\"header\"}\n" + win, "without an unsigned \"version\""},
      {hdr + hdr + win, "line 2: a second header"},
      {hdr + "{\"type\":\"vm\",\"vm\":5,\"pid\":50,\"vm_id\":1}\n" + win, "line 2: vm line"},
      {hdr + "{\"type\":\"vm\",\"vm\":\"a\",\"pid\":\"x\",\"vm_id\":1}\n" + win, "line 2: vm line"},
      {hdr + "{\"type\":\"vm\",\"vm\":\"a\",\"pid\":99999999999,\"vm_id\":1}\n" + win,
       "line 2: vm line"},
      {hdr +
           "{\"type\":\"vm\",\"vm\":\"a\",\"pid\":5,\"vm_id\":1,\"policy\":{\"weight\":"
           "4294967297}}\n" +
           win,
       "line 2: policy.weight = 4294967297: not in 1..10000"},
      {hdr + "{\"type\":\"vm\",\"vm\":\"a\",\"pid\":5,\"vm_id\":1,\"policy\":{\"group\":65536}}\n" +
           win,
       "line 2: policy.group = 65536: not in 0..65535"},
      {hdr + "{\"type\":\"vm\",\"vm\":\"a\",\"pid\":5,\"vm_id\":1,\"policy\":{\"group\":-1}}\n" +
           win,
       "line 2: policy.group = -1: not in 0..65535"},
      {"{\"type\":\"header\",\"version\":1,\"params\":{\"group_shift_pct\":51}}\n" + win,
       "line 1: params.group_shift_pct = 51: not in 0..50"},
      {hdr + "{\"type\":\"vm\",\"vm\":\"a\",\"pid\":5,\"vm_id\":1,\"policy\":[]}\n" + win,
       "line 2: policy is not an object"},
      {"{\"type\":\"header\",\"version\":1,\"params\":{\"debt_max_us\":-1}}\n" + win,
       "line 1: params.debt_max_us = -1"},
      {"{\"type\":\"header\",\"version\":1,\"params\":{\"nope\":1}}\n" + win,
       "line 1: params: unknown key 'nope'"},
      {hdr + "{\"type\":\"window\",\"seq\":\"x\",\"vcpus\":[]}\n", "line 2: window with a seq"},
      {hdr + "{\"type\":\"window\",\"vcpus\":{}}\n", "line 2: window without vcpus"},
      {hdr + "{\"type\":\"window\",\"vcpus\":[{\"vm_id\":1,\"pid\":4294967296,\"vcpu_idx\":0,"
             "\"tid\":7}]}\n",
       "line 2: sample without its identity"},
      {hdr + "{\"type\":\"window\",\"vcpus\":[{\"vm_id\":1,\"pid\":5,\"vcpu_idx\":0,"
             "\"tid\":7,\"ipc_milli\":4294967296}]}\n",
       "line 2: sample with a value that is not an unsigned number"},
      {hdr + "{\"type\":\"window\",\"vcpus\":[{\"vm_id\":1,\"pid\":5,\"vcpu_idx\":0,"
             "\"tid\":7,\"exit_kinds\":{\"io\":\"x\"}}]}\n",
       "line 2: sample with a value"},
      {hdr + "{\"type\":\"bogus\"}\n", "line 2: unknown type 'bogus'"},
  };
  for (const auto& [text, want] : cases) {
    std::ofstream(root_ / "bad.jsonl") << text;
    EXPECT_EQ(Run("replay " + (root_ / "bad.jsonl").string()), 1) << text << Stderr();
    EXPECT_NE(Stderr().find(want), std::string::npos) << text << "\n" << Stderr();
  }
  EXPECT_EQ(Run("replay " + (root_ / "ok.jsonl").string() + " --policy weight=4294967297"), 2);
  EXPECT_EQ(Run("replay " + (root_ / "ok.jsonl").string() + " --policy group=65536"), 2);
  EXPECT_EQ(Run("replay " + (root_ / "ok.jsonl").string() + " --policy group_shift_pct=51"), 2);
  EXPECT_EQ(Run("replay " + (root_ / "ok.jsonl").string() + " --policy group=2"), 0) << Stderr();
}

TEST_F(FakeSysfs, WithoutTheModule) {
  fs::remove_all(root_ / "vms");
  EXPECT_EQ(Run("show 1234-1"), 1);
  EXPECT_NE(Stderr().find("kvm_quanta is not loaded"), std::string::npos) << Stderr();
  EXPECT_EQ(Run("set 1234-1 weight=5"), 1);
  EXPECT_NE(Stderr().find("kvm_quanta is not loaded"), std::string::npos) << Stderr();
  // Module gone altogether: policy says so, not "cannot read .../warm_ipc_milli".
  sysfs_ = root_ / "gone";
  EXPECT_EQ(Run("policy"), 1);
  EXPECT_NE(Stderr().find("kvm_quanta is not loaded"), std::string::npos) << Stderr();
  EXPECT_EQ(Stderr().find("cannot read"), std::string::npos) << Stderr();
  EXPECT_EQ(Run("policy warm_ipc_milli=900"), 1);
  EXPECT_NE(Stderr().find("kvm_quanta is not loaded"), std::string::npos) << Stderr();
}

// The "is it loaded?" hint once, not twice (issue 12, defect 9).
TEST_F(FakeSysfs, ModuleHintOnce) {
  if (Run("status --once") == 0) GTEST_SKIP() << "kvm_quanta is loaded here";
  const std::string err = Stderr();
  size_t n = 0;
  for (size_t at = err.find("loaded"); at != std::string::npos; at = err.find("loaded", at + 1))
    ++n;
  EXPECT_EQ(n, 1u) << err;
}

TEST_F(FakeSysfs, Version) {
  std::string out;
  EXPECT_EQ(Run("--version", &out), 0);
  EXPECT_EQ(out.rfind("quantactl ", 0), 0u) << out;
}

TEST_F(FakeSysfs, ReplayBinary) {
  std::ofstream(root_ / "rec.jsonl") << Write(5);
  std::string out;
  EXPECT_EQ(Run("replay " + (root_ / "rec.jsonl").string(), &out), 0) << Stderr();
  EXPECT_NE(out.find("replay: 5 windows, 2 VMs"), std::string::npos) << out;
  EXPECT_EQ(Run("--json replay " + (root_ / "rec.jsonl").string() +
                    " --policy base_quantum_us=2000 debt_max_us=1000 spin_ple_rate_milli=3000",
                &out),
            0)
      << Stderr();
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["vms"][1]["policy"]["base_quantum_us"], 2000);
  EXPECT_EQ(j["params"]["debt_max_us"], 1000);
  EXPECT_EQ(j["params"]["spin_ple_rate_milli"], 3000);
  EXPECT_EQ(Run("replay " + (root_ / "rec.jsonl").string() + " --policy nope=1"), 2);
  EXPECT_EQ(Run("replay " + (root_ / "rec.jsonl").string() + " --policy weight=0"), 2);
  EXPECT_EQ(Run("replay " + (root_ / "missing.jsonl").string()), 1);
}

// VMs by the names quantad gives them, read from a fake /proc.
TEST_F(FakeSysfs, VmsByName) {
  const std::string cmd =
      std::string("qemu-system-x86_64\0-name\0guest=web1,debug-threads=on\0", 54);
  Put("proc/123/cmdline", cmd);
  Put("proc/200/cmdline", std::string("qemu\0-name\0db-2\0", 17));
  const std::string proc = " --proc-root " + (root_ / "proc").string() + " ";
  std::string out;
  EXPECT_EQ(Run(proc + "--json show web1", &out), 0) << Stderr();
  EXPECT_EQ(nlohmann::json::parse(out)["vm"], "123-4");
  EXPECT_EQ(nlohmann::json::parse(out)["name"], "web1");
  EXPECT_EQ(Run(proc + "set web1 weight=300"), 0) << Stderr();
  EXPECT_EQ(Get("vms/123-4/policy/weight"), "300");
  EXPECT_EQ(Run(proc + "set db-2 weight=5"), 1);  // two VMs of one process
  EXPECT_NE(Stderr().find("name \"db-2\" has 2 VMs, name one: 200-5 200-6"), std::string::npos)
      << Stderr();
  EXPECT_EQ(Run(proc + "show nosuch"), 1);
  EXPECT_NE(Stderr().find("no VM of name \"nosuch\""), std::string::npos) << Stderr();
  EXPECT_EQ(Run(proc + "show 200-6"), 0) << Stderr();
}

TEST_F(FakeSysfs, HostPolicy) {
  for (const auto& p : HostParams()) Put(std::string("policy/") + p.name, "7");
  std::string out;
  EXPECT_EQ(Run("--json policy", &out), 0) << Stderr();
  EXPECT_EQ(nlohmann::json::parse(out)["policy"]["debt_max_us"], 7);
  EXPECT_EQ(Run("policy debt_max_us=30000 phase_drop_pct=40", &out), 0) << Stderr();
  EXPECT_EQ(Get("policy/debt_max_us"), "30000");
  EXPECT_EQ(Get("policy/phase_drop_pct"), "40");
  EXPECT_NE(out.find("policy: debt_max_us 7 -> 30000"), std::string::npos) << out;
  EXPECT_EQ(Run("policy spin_ple_rate_milli=2500"), 0) << Stderr();
  EXPECT_EQ(Get("policy/spin_ple_rate_milli"), "2500");
  // Refused as a whole, nothing written.
  EXPECT_EQ(Run("policy debt_max_us=5 phase_drop_pct=101"), 2);
  EXPECT_EQ(Run("policy nope=1"), 2);
  EXPECT_EQ(Run("policy debt_max_us=5 warm_pct=51"), 2);
  EXPECT_NE(Stderr().find("warm_pct=51: out of range 1..50"), std::string::npos) << Stderr();
  EXPECT_EQ(Run("policy debt_max_us=5 flush_pct=49"), 2);
  EXPECT_EQ(Run("policy debt_max_us=5 host_thresholds=2"), 2);
  EXPECT_EQ(Get("policy/debt_max_us"), "30000");
  EXPECT_EQ(Get("policy/warm_pct"), "7");
  EXPECT_EQ(Run("policy host_thresholds=0 warm_pct=10 flush_pct=95", &out), 0) << Stderr();
  EXPECT_EQ(Get("policy/host_thresholds"), "0");
  EXPECT_EQ(Get("policy/warm_pct"), "10");
  EXPECT_EQ(Get("policy/flush_pct"), "95");
  EXPECT_EQ(Run("policy group_shift_pct=0", &out), 0) << Stderr();
  EXPECT_EQ(Get("policy/group_shift_pct"), "0");
  EXPECT_EQ(Run("policy group_shift_pct=50", &out), 0) << Stderr();
  EXPECT_EQ(Get("policy/group_shift_pct"), "50");
  EXPECT_EQ(Run("policy debt_max_us=5 group_shift_pct=51"), 2);
  EXPECT_NE(Stderr().find("group_shift_pct=51: out of range 0..50"), std::string::npos) << Stderr();
  EXPECT_EQ(Get("policy/group_shift_pct"), "50");
  // A group is a VM's, not the host's.
  EXPECT_EQ(Run("policy group=1"), 2);
  EXPECT_NE(Stderr().find("unknown key 'group'"), std::string::npos) << Stderr();
  // A write that fails rolls back the ones before it.
  fs::remove(root_ / "policy/warm_ipc_milli");
  fs::create_directories(root_ / "policy/warm_ipc_milli");
  EXPECT_EQ(Run("policy debt_max_us=1"), 1);
  EXPECT_EQ(Get("policy/debt_max_us"), "30000");
}

TEST_F(FakeSysfs, ProfileExportImport) {
  const std::string db = (root_ / "q.db").string();
  {
    std::string err;
    auto st = kq::ProfileStore::Open(db, &err);
    ASSERT_TRUE(st) << err;
    kq::Profile p;
    p.windows = 900;
    p.exit_rate_sum = 45.5;
    p.exit_rate_n = 900;
    p.decisions[KVM_QUANTA_R_WARM] = 33;
    ASSERT_TRUE(st->SaveAll({{"web1", p}}, &err)) << err;
  }
  const std::string file = (root_ / "web1.json").string();
  EXPECT_EQ(Run("profile --database " + db + " export web1 --output " + file), 0) << Stderr();
  std::ifstream in(file);
  auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["format"], "kvm-quanta-profile");
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["name"], "web1");
  EXPECT_EQ(doc["profile"]["decisions"]["warm"], 33);
  std::string out;
  EXPECT_EQ(Run("profile export web1 --database " + db, &out), 0) << Stderr();
  EXPECT_EQ(nlohmann::json::parse(out), doc);
  EXPECT_EQ(Run("profile --database " + db + " export nosuch"), 1);
  EXPECT_EQ(Run("profile --database " + (root_ / "none.db").string() + " export web1"), 1);
  EXPECT_FALSE(fs::exists(root_ / "none.db"));

  // Into another host's database: queued for quantad.
  const std::string db2 = (root_ / "q2.db").string();
  EXPECT_EQ(Run("profile --database " + db2 + " import " + file), 0) << Stderr();
  std::string err;
  auto st = kq::ProfileStore::Open(db2, &err);
  ASSERT_TRUE(st) << err;
  std::map<std::string, kq::Profile> taken;
  ASSERT_TRUE(st->TakeImports(&taken, &err)) << err;
  ASSERT_EQ(taken.count("web1"), 1u);
  EXPECT_EQ(taken["web1"].decisions[KVM_QUANTA_R_WARM], 33u);

  // Bad documents change nothing.
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> bad = {
      {[](nlohmann::json& j) { j["version"] = 2; }, "version: 2 is not supported"},
      {[](nlohmann::json& j) { j["format"] = "other"; }, "format: not"},
      {[](nlohmann::json& j) { j["name"] = 5; }, "name: missing"},
      {[](nlohmann::json& j) { j.erase("profile"); }, "profile: missing"},
      {[](nlohmann::json& j) { j["profile"]["windows"] = -3; }, "profile.windows: not an unsigned"},
      {[](nlohmann::json& j) { j["extra"] = 1; }, "extra: unknown key"},
  };
  for (const auto& [mutate, want] : bad) {
    nlohmann::json j = doc;
    mutate(j);
    std::ofstream(root_ / "bad.json") << j.dump();
    EXPECT_EQ(Run("profile --database " + db2 + " import " + (root_ / "bad.json").string()), 1);
    EXPECT_NE(Stderr().find(want), std::string::npos) << Stderr();
  }
  std::ofstream(root_ / "bad.json") << "{\"format\":";
  EXPECT_EQ(Run("profile --database " + db2 + " import " + (root_ / "bad.json").string()), 1);
  taken.clear();
  ASSERT_TRUE(st->TakeImports(&taken, &err)) << err;
  EXPECT_TRUE(taken.empty());
  EXPECT_EQ(Run("profile import"), 2);
  EXPECT_EQ(Run("profile"), 2);
}

}  // namespace
}  // namespace kq::ctl
