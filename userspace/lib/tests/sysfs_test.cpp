// SPDX-License-Identifier: GPL-2.0
// The shared sysfs layer against a fake tree: VM listing, the one policy
// writer (every order of min/base/max safe, all or nothing with rollback)
// and the per-vCPU policy state.
#include "sysfs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

namespace kq {
namespace {

namespace fs = std::filesystem;

class LibFakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kq-sysfs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    vm_ = root_ + "/vms/100-1";
    fs::create_directories(vm_ + "/policy");
    Set(Policy{});
  }
  void TearDown() override { fs::remove_all(root_); }
  void Knob(const std::string& k, int64_t v) { std::ofstream(vm_ + "/policy/" + k) << v << "\n"; }
  void Set(const Policy& p) {
    for (const auto& [k, v] : PolicyKnobs(p)) Knob(k, static_cast<int64_t>(v));
  }
  int64_t Get(const std::string& k) {
    std::ifstream in(vm_ + "/policy/" + k);
    int64_t v = -1;
    in >> v;
    return v;
  }
  // Replays the plan from start, checking min <= base <= max after each write.
  void CheckOrder(const Policy& start, const std::vector<Write>& plan) {
    uint64_t v[3] = {start.min_quantum_us, start.base_quantum_us, start.max_quantum_us};
    for (const Write& w : plan) {
      if (w.key == "min_quantum_us") v[0] = w.value;
      if (w.key == "base_quantum_us") v[1] = w.value;
      if (w.key == "max_quantum_us") v[2] = w.value;
      EXPECT_LE(v[0], v[1]) << "after " << w.key << "=" << w.value;
      EXPECT_LE(v[1], v[2]) << "after " << w.key << "=" << w.value;
    }
  }
  std::optional<Sysfs::Update> Apply(const Policy& p, std::string* err) {
    return Sysfs(root_).UpdateKnobs(VmPolicyDir(VmDir{"100-1", 100, 1}), VmKnobs(), PolicyKnobs(p),
                                    err);
  }
  std::string root_, vm_;
};

TEST_F(LibFakeSysfs, ListVms) {
  fs::create_directories(root_ + "/vms/200-12");
  fs::create_directories(root_ + "/vms/junk");
  fs::create_directories(vm_ + "/vcpus/0");
  fs::create_directories(vm_ + "/vcpus/3");
  Sysfs sys(root_);
  auto vms = sys.ListVms();
  ASSERT_EQ(vms.size(), 2u);
  EXPECT_EQ(vms[0].dir, "100-1");
  EXPECT_EQ(vms[0].pid, 100u);
  EXPECT_EQ(vms[1].vm_id, 12u);
  EXPECT_EQ(sys.VcpuIndices(vms[0]), (std::vector<uint32_t>{0, 3}));
  EXPECT_TRUE(Sysfs("/nonexistent").ListVms().empty());
}

TEST_F(LibFakeSysfs, NothingWhenEqual) {
  std::string err;
  auto u = Apply(Policy{}, &err);
  ASSERT_TRUE(u) << err;
  EXPECT_TRUE(u->plan.empty());
  EXPECT_TRUE(u->result.ok);
}

TEST_F(LibFakeSysfs, NoPolicyDir) {
  fs::remove_all(vm_ + "/policy");
  std::string err;
  EXPECT_FALSE(Apply(Policy{}, &err));
  EXPECT_NE(err.find("module too old"), std::string::npos) << err;
}

TEST_F(LibFakeSysfs, InvalidResultWritesNothing) {
  std::string err;
  EXPECT_FALSE(Apply(Policy{true, 9000, 5000, 8000, 100}, &err));
  EXPECT_NE(err.find("must hold"), std::string::npos) << err;
  EXPECT_EQ(Get("min_quantum_us"), 1000);
}

TEST_F(LibFakeSysfs, RaiseAboveOldMax) {
  std::string err;
  auto u = Apply(Policy{true, 9000, 12000, 20000, 100}, &err);
  ASSERT_TRUE(u) << err;
  ASSERT_EQ(u->plan.size(), 3u);
  EXPECT_EQ(u->plan[0].key, "max_quantum_us");
  EXPECT_EQ(u->plan[1].key, "base_quantum_us");
  EXPECT_EQ(u->plan[2].key, "min_quantum_us");
  EXPECT_EQ(u->before.at("max_quantum_us"), 8000u);
  CheckOrder(Policy{}, u->plan);
  EXPECT_EQ(Get("min_quantum_us"), 9000);
  EXPECT_EQ(Get("base_quantum_us"), 12000);
  EXPECT_EQ(Get("max_quantum_us"), 20000);
}

TEST_F(LibFakeSysfs, EveryOrderIsSafe) {
  const uint32_t vals[] = {100, 1000, 5000, 50000};
  std::string err;
  for (uint32_t a : vals)
    for (uint32_t b : vals)
      for (uint32_t c : vals)
        for (uint32_t x : vals)
          for (uint32_t y : vals)
            for (uint32_t z : vals) {
              if (!(a <= b && b <= c && x <= y && y <= z)) continue;
              const Policy from{true, a, b, c, 100}, to{true, x, y, z, 100};
              Set(from);
              auto u = Apply(to, &err);
              ASSERT_TRUE(u) << err;
              CheckOrder(from, u->plan);
              ASSERT_EQ(Get("min_quantum_us"), x);
              ASSERT_EQ(Get("base_quantum_us"), y);
              ASSERT_EQ(Get("max_quantum_us"), z);
            }
}

// quantad used to write what it could and leave the rest: now a failed
// write rolls back the ones before it (one writer for both tools).
TEST_F(LibFakeSysfs, FailingWriteRollsBack) {
  fs::remove(vm_ + "/policy/weight");
  fs::create_directories(vm_ + "/policy/weight");  // reads fail: refused before any write
  std::string err;
  EXPECT_FALSE(Apply(Policy{false, 1000, 5000, 8000, 300}, &err));
  EXPECT_EQ(Get("enabled"), 1);
  // A knob that reads as a number but refuses writes, even from root: a
  // read-only proc file.
  fs::remove(vm_ + "/policy/weight");
  fs::create_symlink("/proc/self/oom_score", vm_ + "/policy/weight");
  auto u = Apply(Policy{false, 1000, 5000, 8000, 10000}, &err);
  ASSERT_TRUE(u) << err;
  EXPECT_FALSE(u->result.ok);
  EXPECT_EQ(u->result.failed_key, "weight");
  EXPECT_NE(u->result.error, 0);
  EXPECT_EQ(Get("base_quantum_us"), 4000);  // written, then restored
  EXPECT_EQ(Get("enabled"), 1);
  EXPECT_NE(DescribeFailure(u->result, u->before).find("nothing changed"), std::string::npos);
}

TEST_F(LibFakeSysfs, VcpuPolicy) {
  const std::string d = vm_ + "/vcpus/2/";
  fs::create_directories(d);
  Sysfs sys(root_);
  const VmDir vm{"100-1", 100, 1};
  auto s = sys.ReadVcpuPolicy(vm, 2);
  EXPECT_FALSE(s.target_ns || s.reason || s.debt_ns || s.decisions);
  std::ofstream(d + "target_quantum_us") << "4800\n";
  std::ofstream(d + "reason") << "exit_heavy\n";
  std::ofstream(d + "debt_us") << "-150\n";
  std::ofstream(d + "decisions") << "base 1\nwarm 2\nexit_heavy 3\nflush 0\nspin 0\n"
                                    "phase_end 0\npayback 0\nidle 9\nfuture 4\n";
  s = sys.ReadVcpuPolicy(vm, 2);
  EXPECT_EQ(s.target_ns, 4800000u);
  EXPECT_EQ(s.reason, uint32_t{KVM_QUANTA_R_EXIT_HEAVY});
  EXPECT_EQ(s.debt_ns, -150000);
  ASSERT_TRUE(s.decisions);
  EXPECT_EQ(*s.decisions, (std::array<uint64_t, kReasons>{1, 2, 3, 0, 0, 0, 0, 9}));
  EXPECT_FALSE(s.group_shift_pct || s.group_lasting_pct);
}

// vcpus/<idx>/group_shift_pct: "<applied> <lasting>", two signed percents;
// anything else reads as absent.
TEST_F(LibFakeSysfs, VcpuGroupShift) {
  const std::string d = vm_ + "/vcpus/0/";
  fs::create_directories(d);
  Sysfs sys(root_);
  const VmDir vm{"100-1", 100, 1};
  for (const auto& [text, applied, lasting] : std::vector<std::tuple<std::string, int, int>>{
           {"12 10", 12, 10}, {"-20 -10", -20, -10}, {"0 0", 0, 0}, {"-3 1", -3, 1}}) {
    std::ofstream(d + "group_shift_pct") << text << "\n";
    auto s = sys.ReadVcpuPolicy(vm, 0);
    EXPECT_EQ(s.group_shift_pct, applied) << text;
    EXPECT_EQ(s.group_lasting_pct, lasting) << text;
    // In show's tree it is the text, not a count named "-20".
    EXPECT_EQ(sys.VmTree(vm)["vcpus"]["0"]["group_shift_pct"], text) << text;
  }
  for (const char* bad : {"12", "12 10 3", "x 1", "1 y", "", "4294967296 0", "0 -2147483649"}) {
    std::ofstream(d + "group_shift_pct") << bad << "\n";
    auto s = sys.ReadVcpuPolicy(vm, 0);
    EXPECT_FALSE(s.group_shift_pct || s.group_lasting_pct) << bad;
  }
}

TEST(LibNames, ReasonsFromCore) {
  EXPECT_STREQ(ReasonNames()[KVM_QUANTA_R_EXIT_HEAVY], "exit_heavy");
  EXPECT_EQ(ReasonFromName("idle"), uint32_t{KVM_QUANTA_R_IDLE});
  EXPECT_FALSE(ReasonFromName("future"));
}

}  // namespace
}  // namespace kq
