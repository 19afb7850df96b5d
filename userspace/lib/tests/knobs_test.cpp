// SPDX-License-Identifier: GPL-2.0
// The host-wide parameters: the same names and ranges as the module's
// policy/ files (src/sysfs.c, whose bounds are src/core/policy.h's
// KQ_PARAM_*_MIN and _MAX, the constants userspace uses too), and each one
// the field of kq_policy_params that the policy reads; the per-VM knobs, the
// module's vms/<vm>/policy/ files.
#include "knobs.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "policy.h"
}

namespace kq {
namespace {

// Every "static struct kq_param_attr kq_pa_NAME = { ... .min = LO, .max = HI,
// ... }" of the module's sysfs code: NAME -> {LO ("" when 0), HI}.
std::map<std::string, std::pair<std::string, std::string>> ModuleParamRanges() {
  std::ifstream in(KQ_SOURCE_ROOT "/src/sysfs.c");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const std::regex attr(R"(static struct kq_param_attr kq_pa_(\w+) = \{([^}]*)\};)");
  const std::regex min(R"(\.min = ([^,\n]+),)");
  const std::regex max(R"(\.max = ([^,\n]+),)");
  std::map<std::string, std::pair<std::string, std::string>> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), attr); it != std::sregex_iterator();
       ++it) {
    const std::string body = (*it)[2];
    std::smatch lo, hi;
    out[(*it)[1]] = {std::regex_search(body, lo, min) ? lo[1].str() : "",
                     std::regex_search(body, hi, max) ? hi[1].str() : ""};
  }
  return out;
}

TEST(LibKnobs, HostParamsAreTheModules) {
  const std::map<std::string, uint64_t> constants = {
      {"KQ_PARAM_IPC_MILLI_MAX", KQ_PARAM_IPC_MILLI_MAX},
      {"KQ_PARAM_MPKI_MILLI_MAX", KQ_PARAM_MPKI_MILLI_MAX},
      {"KQ_PARAM_RATE_MILLI_MAX", KQ_PARAM_RATE_MILLI_MAX},
      {"KQ_PARAM_PCT_MAX", KQ_PARAM_PCT_MAX},
      {"KQ_PARAM_DEBT_US_MAX", KQ_PARAM_DEBT_US_MAX},
      {"KQ_PARAM_BURST_US_MAX", KQ_PARAM_BURST_US_MAX},
      {"KQ_PARAM_BOOST_MAX", KQ_PARAM_BOOST_MAX},
      {"KQ_PARAM_RATELIMIT_US_MAX", KQ_PARAM_RATELIMIT_US_MAX},
      {"KQ_PARAM_BURST_PCT_MAX", KQ_PARAM_BURST_PCT_MAX},
      {"KQ_PARAM_SWITCH_MAX", KQ_PARAM_SWITCH_MAX},
      {"KQ_PARAM_WARM_PCT_MIN", KQ_PARAM_WARM_PCT_MIN},
      {"KQ_PARAM_WARM_PCT_MAX", KQ_PARAM_WARM_PCT_MAX},
      {"KQ_PARAM_FLUSH_PCT_MIN", KQ_PARAM_FLUSH_PCT_MIN},
      {"KQ_PARAM_FLUSH_PCT_MAX", KQ_PARAM_FLUSH_PCT_MAX},
      {"KQ_PARAM_GROUP_SHIFT_PCT_MAX", KQ_PARAM_GROUP_SHIFT_PCT_MAX},
  };
  const auto module = ModuleParamRanges();
  ASSERT_FALSE(module.empty()) << "no kq_param_attr in " KQ_SOURCE_ROOT "/src/sysfs.c";
  EXPECT_EQ(module.size(), HostParams().size());
  for (const auto& [name, range] : module) {
    const auto& [lo, hi] = range;
    const KnobSpec* spec = FindKnob(HostParams(), name);
    ASSERT_NE(spec, nullptr) << "policy/" << name << " of the module is not in HostParams()";
    // Named bounds from src/core/policy.h, not literals of its own.
    auto c = constants.find(hi);
    ASSERT_NE(c, constants.end()) << name << ": .max = " << hi;
    EXPECT_EQ(spec->hi, c->second) << name << ": the module's maximum is " << hi;
    if (lo.empty()) {
      EXPECT_EQ(spec->lo, 0u) << name;
      continue;
    }
    c = constants.find(lo);
    ASSERT_NE(c, constants.end()) << name << ": .min = " << lo;
    EXPECT_EQ(spec->lo, c->second) << name << ": the module's minimum is " << lo;
  }
}

// The thresholds' switch and percentiles: a value outside the module's range
// is refused with the range named, and nothing is parsed.
TEST(LibKnobs, HostThresholdKnobsRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"host_thresholds=2", "host_thresholds=2: out of range 0..1"},
      {"warm_pct=0", "warm_pct=0: out of range 1..50"},
      {"warm_pct=51", "warm_pct=51: out of range 1..50"},
      {"flush_pct=49", "flush_pct=49: out of range 50..99"},
      {"flush_pct=100", "flush_pct=100: out of range 50..99"},
      {"warm_pct=x", "warm_pct=x: not a decimal number (allowed 1..50)"},
  };
  for (const auto& [arg, want] : cases) {
    std::string err;
    EXPECT_FALSE(ParseAssignments({"debt_max_us=5", arg}, HostParams(), &err)) << arg;
    EXPECT_EQ(err, want);
  }
  std::string err;
  const auto ok =
      ParseAssignments({"host_thresholds=0", "warm_pct=1", "flush_pct=99"}, HostParams(), &err);
  ASSERT_TRUE(ok) << err;
  EXPECT_EQ(ok->at("host_thresholds"), 0u);
  EXPECT_EQ(ok->at("warm_pct"), 1u);
  EXPECT_EQ(ok->at("flush_pct"), 99u);
}

// The per-VM knobs: the module's vms/<vm>/policy/ files (its KQ_KNOB_ATTR
// list in src/sysfs.c), no more, no fewer.
TEST(LibKnobs, VmKnobsAreTheModules) {
  std::ifstream in(KQ_SOURCE_ROOT "/src/sysfs.c");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const std::regex attr(R"(\nKQ_KNOB_ATTR\(\w+, (\w+)\);)");
  std::vector<std::string> module, ours;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), attr); it != std::sregex_iterator();
       ++it)
    module.push_back((*it)[1]);
  for (const KnobSpec& s : VmKnobs()) ours.push_back(s.name);
  EXPECT_EQ(module, ours);
}

// The group (0 none, 1..KQ_GROUP_MAX) and group_shift_pct (0..50): values
// outside the module's range are refused with the range named.
TEST(LibKnobs, GroupKnobsRefused) {
  const std::vector<std::pair<std::string, std::string>> vm = {
      {"group=65536", "group=65536: out of range 0..65535"},
      {"group=4294967296", "group=4294967296: out of range 0..65535"},
      {"group=-1", "group=-1: not a decimal number (allowed 0..65535)"},
      {"group=web", "group=web: not a decimal number (allowed 0..65535)"},
      {"group=", "group=: not a decimal number (allowed 0..65535)"},
      {"group=1.5", "group=1.5: not a decimal number (allowed 0..65535)"},
  };
  for (const auto& [arg, want] : vm) {
    std::string err;
    EXPECT_FALSE(ParseAssignments({"weight=5", arg}, VmKnobs(), &err)) << arg;
    EXPECT_EQ(err, want);
  }
  const std::vector<std::pair<std::string, std::string>> host = {
      {"group_shift_pct=51", "group_shift_pct=51: out of range 0..50"},
      {"group_shift_pct=100", "group_shift_pct=100: out of range 0..50"},
      {"group_shift_pct=-5", "group_shift_pct=-5: not a decimal number (allowed 0..50)"},
  };
  for (const auto& [arg, want] : host) {
    std::string err;
    EXPECT_FALSE(ParseAssignments({arg}, HostParams(), &err)) << arg;
    EXPECT_EQ(err, want);
  }
  std::string err;
  // A group is a VM knob, not a host parameter, and the other way round.
  EXPECT_FALSE(ParseAssignments({"group=1"}, HostParams(), &err));
  EXPECT_NE(err.find("unknown key 'group'"), std::string::npos) << err;
  EXPECT_FALSE(ParseAssignments({"group_shift_pct=1"}, VmKnobs(), &err));
  EXPECT_NE(err.find("unknown key 'group_shift_pct'"), std::string::npos) << err;
  auto ok = ParseAssignments({"group=0"}, VmKnobs(), &err);
  ASSERT_TRUE(ok) << err;
  EXPECT_EQ(ok->at("group"), 0u);
  ok = ParseAssignments({"group=65535"}, VmKnobs(), &err);
  ASSERT_TRUE(ok) << err;
  EXPECT_EQ(ok->at("group"), 65535u);
  ok = ParseAssignments({"group_shift_pct=0"}, HostParams(), &err);
  ASSERT_TRUE(ok) << err;
  EXPECT_EQ(ok->at("group_shift_pct"), 0u);
  ok = ParseAssignments({"group_shift_pct=50"}, HostParams(), &err);
  ASSERT_TRUE(ok) << err;
  EXPECT_EQ(ok->at("group_shift_pct"), 50u);
}

// A policy's knobs carry its group; a change of group alone is one write,
// after the quanta, and none when it does not change.
TEST(LibKnobs, PolicyGroup) {
  Policy p;
  EXPECT_EQ(PolicyKnobs(p).at("group"), 0u);
  p.group = 7;
  const KnobValues k = PolicyKnobs(p);
  EXPECT_EQ(k.at("group"), 7u);
  EXPECT_EQ(k.size(), VmKnobs().size());
  for (const KnobSpec& s : VmKnobs()) EXPECT_TRUE(k.count(s.name)) << s.name;
  auto plan = PlanWrites(PolicyKnobs(Policy{}), k);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].key, "group");
  EXPECT_EQ(plan[0].value, 7u);
  p.base_quantum_us = 9000;
  p.max_quantum_us = 9000;
  plan = PlanWrites(PolicyKnobs(Policy{}), PolicyKnobs(p));
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].key, "max_quantum_us");
  EXPECT_EQ(plan[1].key, "base_quantum_us");
  EXPECT_EQ(plan[2].key, "group");
  EXPECT_TRUE(PlanWrites(k, k).empty());
}

TEST(LibKnobs, HostParamFields) {
  kq_policy_params p;
  std::memset(&p, 0xff, sizeof(p));  // a field written only in part keeps some of these
  uint64_t v = 1;
  std::map<std::string, uint64_t> set;
  for (const KnobSpec& s : HostParams()) {
    ASSERT_TRUE(SetHostParam(&p, s.name, v)) << s.name;
    set[s.name] = v++;
  }
  EXPECT_FALSE(SetHostParam(&p, "nope", 1));
  EXPECT_EQ(p.warm_ipc_milli, set.at("warm_ipc_milli"));
  EXPECT_EQ(p.warm_llc_mpki_milli, set.at("warm_llc_mpki_milli"));
  EXPECT_EQ(p.warm_br_mpki_milli, set.at("warm_br_mpki_milli"));
  EXPECT_EQ(p.warm_exit_rate_milli, set.at("warm_exit_rate_milli"));
  EXPECT_EQ(p.heavy_exit_rate_milli, set.at("heavy_exit_rate_milli"));
  EXPECT_EQ(p.flush_llc_mpki_milli, set.at("flush_llc_mpki_milli"));
  EXPECT_EQ(p.phase_drop_pct, set.at("phase_drop_pct"));
  EXPECT_EQ(p.idle_halt_pct, set.at("idle_halt_pct"));
  EXPECT_EQ(p.history_max_pct, set.at("history_max_pct"));
  EXPECT_EQ(p.debt_max_us, set.at("debt_max_us"));
  EXPECT_EQ(p.spin_ple_rate_milli, set.at("spin_ple_rate_milli"));
  EXPECT_EQ(p.latency_burst_us, set.at("latency_burst_us"));
  EXPECT_EQ(p.latency_boost, set.at("latency_boost"));
  EXPECT_EQ(p.ratelimit_us, set.at("ratelimit_us"));
  EXPECT_EQ(p.flush_burst_pct, set.at("flush_burst_pct"));
  EXPECT_EQ(p.host_thresholds, set.at("host_thresholds"));
  EXPECT_EQ(p.warm_pct, set.at("warm_pct"));
  EXPECT_EQ(p.flush_pct, set.at("flush_pct"));
  EXPECT_EQ(p.group_shift_pct, set.at("group_shift_pct"));
  EXPECT_EQ(HostParamValues(p), KnobValues(set.begin(), set.end()));
  // A 64-bit field takes its maximum whole.
  ASSERT_TRUE(SetHostParam(&p, "heavy_exit_rate_milli", KQ_PARAM_RATE_MILLI_MAX));
  EXPECT_EQ(p.heavy_exit_rate_milli, uint64_t{KQ_PARAM_RATE_MILLI_MAX});
  EXPECT_EQ(p.flush_llc_mpki_milli, set.at("flush_llc_mpki_milli"));  // its neighbour untouched
  // And is read whole, beyond 32 bits too.
  p.warm_exit_rate_milli = uint64_t{1} << 40;
  EXPECT_EQ(HostParamValues(p).at("warm_exit_rate_milli"), uint64_t{1} << 40);
}

}  // namespace
}  // namespace kq
