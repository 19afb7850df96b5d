// SPDX-License-Identifier: GPL-2.0
// The host-wide parameters: the same names and ranges as the module's
// policy/ files (src/sysfs.c, whose bounds are src/core/policy.h's
// KQ_PARAM_*_MIN and _MAX, the constants userspace uses too), and each one
// the field of kq_policy_params that the policy reads.
#include "knobs.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

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
