// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "sysfs.hpp"

namespace kq::quantad {
namespace {

namespace fs = std::filesystem;

class QuantadFakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/quantad-sysfs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    vm_ = root_ + "/vms/100-1";
    fs::create_directories(vm_ + "/policy");
    Set(Policy{});
  }
  void TearDown() override { fs::remove_all(root_); }
  void Knob(const std::string& k, int64_t v) { std::ofstream(vm_ + "/policy/" + k) << v << "\n"; }
  void Set(const Policy& p) {
    Knob("enabled", p.enabled);
    Knob("min_quantum_us", p.min_quantum_us);
    Knob("base_quantum_us", p.base_quantum_us);
    Knob("max_quantum_us", p.max_quantum_us);
    Knob("weight", p.weight);
  }
  int64_t Get(const std::string& k) {
    std::ifstream in(vm_ + "/policy/" + k);
    int64_t v = -1;
    in >> v;
    return v;
  }
  // Replays the writes from start, checking min <= base <= max after each.
  void CheckOrder(const Policy& start, const ApplyResult& r) {
    int64_t v[3] = {start.min_quantum_us, start.base_quantum_us, start.max_quantum_us};
    for (const KnobWrite& w : r.writes) {
      if (w.err) continue;
      if (w.knob == "min_quantum_us") v[0] = w.new_value;
      if (w.knob == "base_quantum_us") v[1] = w.new_value;
      if (w.knob == "max_quantum_us") v[2] = w.new_value;
      EXPECT_LE(v[0], v[1]) << "after " << w.knob << "=" << w.new_value;
      EXPECT_LE(v[1], v[2]) << "after " << w.knob << "=" << w.new_value;
    }
  }
  std::string root_, vm_;
};

TEST_F(QuantadFakeSysfs, ListVms) {
  fs::create_directories(root_ + "/vms/200-12");
  fs::create_directories(root_ + "/vms/junk");
  fs::create_directories(vm_ + "/vcpus/0");
  fs::create_directories(vm_ + "/vcpus/3");
  auto vms = ListVms(root_);
  ASSERT_EQ(vms.size(), 2u);
  std::sort(vms.begin(), vms.end(), [](auto& a, auto& b) { return a.id < b.id; });
  EXPECT_EQ(vms[0].dir, "100-1");
  EXPECT_EQ(vms[0].pid, 100u);
  EXPECT_EQ(vms[1].id, 12u);
  auto vcpus = ListVcpus(vm_);
  std::sort(vcpus.begin(), vcpus.end());
  EXPECT_EQ(vcpus, (std::vector<uint32_t>{0, 3}));
  EXPECT_TRUE(ListVms("/nonexistent").empty());
}

TEST_F(QuantadFakeSysfs, NothingWhenEqual) {
  const ApplyResult r = ApplyPolicy(vm_, Policy{});
  EXPECT_TRUE(r.knobs_present);
  EXPECT_TRUE(r.writes.empty());
}

TEST_F(QuantadFakeSysfs, NoPolicyDir) {
  fs::remove_all(vm_ + "/policy");
  EXPECT_FALSE(ApplyPolicy(vm_, Policy{}).knobs_present);
}

TEST_F(QuantadFakeSysfs, RaiseAboveOldMax) {
  // 1000/4000/8000 -> 9000/12000/20000: max, then base, then min.
  const Policy want{true, 9000, 12000, 20000, 100};
  const ApplyResult r = ApplyPolicy(vm_, want);
  ASSERT_EQ(r.writes.size(), 3u);
  EXPECT_EQ(r.writes[0].knob, "max_quantum_us");
  EXPECT_EQ(r.writes[1].knob, "base_quantum_us");
  EXPECT_EQ(r.writes[2].knob, "min_quantum_us");
  EXPECT_EQ(r.writes[0].old_value, 8000);
  CheckOrder(Policy{}, r);
  EXPECT_EQ(Get("min_quantum_us"), 9000);
  EXPECT_EQ(Get("base_quantum_us"), 12000);
  EXPECT_EQ(Get("max_quantum_us"), 20000);
}

TEST_F(QuantadFakeSysfs, LowerBelowOldMin) {
  const Policy want{true, 100, 200, 500, 100};
  const ApplyResult r = ApplyPolicy(vm_, want);
  ASSERT_EQ(r.writes.size(), 3u);
  EXPECT_EQ(r.writes[0].knob, "min_quantum_us");
  EXPECT_EQ(r.writes[1].knob, "base_quantum_us");
  EXPECT_EQ(r.writes[2].knob, "max_quantum_us");
  CheckOrder(Policy{}, r);
}

TEST_F(QuantadFakeSysfs, EveryOrderIsSafe) {
  const uint32_t vals[] = {100, 1000, 5000, 9000, 50000};
  for (uint32_t a : vals)
    for (uint32_t b : vals)
      for (uint32_t c : vals)
        for (uint32_t x : vals)
          for (uint32_t y : vals)
            for (uint32_t z : vals) {
              if (!(a <= b && b <= c && x <= y && y <= z)) continue;
              const Policy from{true, a, b, c, 100}, to{true, x, y, z, 100};
              Set(from);
              const ApplyResult r = ApplyPolicy(vm_, to);
              CheckOrder(from, r);
              ASSERT_EQ(Get("min_quantum_us"), x);
              ASSERT_EQ(Get("base_quantum_us"), y);
              ASSERT_EQ(Get("max_quantum_us"), z);
            }
}

TEST_F(QuantadFakeSysfs, FailingWriteIsReportedAndOthersApplied) {
  fs::remove(vm_ + "/policy/weight");
  fs::create_directories(vm_ + "/policy/weight");  // opening it for writing fails
  const Policy want{false, 1000, 5000, 8000, 300};
  const ApplyResult r = ApplyPolicy(vm_, want);
  ASSERT_EQ(r.writes.size(), 3u);
  EXPECT_EQ(r.writes[0].knob, "enabled");
  EXPECT_EQ(r.writes[0].err, 0);
  EXPECT_EQ(r.writes[1].knob, "weight");
  EXPECT_EQ(r.writes[1].err, EISDIR);
  EXPECT_FALSE(r.writes[1].old_value);
  EXPECT_EQ(r.writes[2].knob, "base_quantum_us");
  EXPECT_EQ(r.writes[2].err, 0);
  EXPECT_EQ(Get("enabled"), 0);
  EXPECT_EQ(Get("base_quantum_us"), 5000);
}

TEST_F(QuantadFakeSysfs, VcpuPolicyState) {
  const std::string d = vm_ + "/vcpus/2/";
  fs::create_directories(d);
  auto s = ReadVcpuPolicyState(vm_, 2);
  EXPECT_FALSE(s.target_ns || s.reason || s.debt_ns || s.decisions);
  std::ofstream(d + "target_quantum_us") << "4800\n";
  std::ofstream(d + "reason") << "exit_heavy\n";
  std::ofstream(d + "debt_us") << "-150\n";
  std::ofstream(d + "decisions") << "base 1\nwarm 2\nexit_heavy 3\nflush 0\nspin 0\n"
                                    "phase_end 0\npayback 0\nidle 9\nfuture 4\n";
  s = ReadVcpuPolicyState(vm_, 2);
  EXPECT_EQ(s.target_ns, 4800000u);
  EXPECT_EQ(s.reason, uint32_t{KVM_QUANTA_R_EXIT_HEAVY});
  EXPECT_EQ(s.debt_ns, -150000);
  ASSERT_TRUE(s.decisions);
  EXPECT_EQ(*s.decisions, (std::array<uint64_t, kReasons>{1, 2, 3, 0, 0, 0, 0, 9}));
}

}  // namespace
}  // namespace kq::quantad
