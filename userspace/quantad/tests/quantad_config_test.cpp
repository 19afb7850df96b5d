// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "config.hpp"

namespace kq::quantad {
namespace {

std::string ErrorOf(const std::string& text) {
  std::string err;
  auto c = ParseConfig(text, "q.toml", &err);
  EXPECT_FALSE(c.has_value()) << text;
  return err;
}

TEST(QuantadConfig, EmptyIsRefusedExplicitlyEmptyIsDefaults) {
  std::string err;
  EXPECT_NE(ErrorOf("").find("q.toml:1: empty configuration"), std::string::npos);
  EXPECT_NE(ErrorOf("# only a comment\n\n").find("empty configuration"), std::string::npos);
  auto c = ParseConfig("[defaults]\n", "q.toml", &err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->defaults, Policy{});
  EXPECT_EQ(c->daemon.metrics_listen, "127.0.0.1:9477");
  EXPECT_FALSE(c->daemon.mode);
  EXPECT_TRUE(c->vms.empty());
}

TEST(QuantadConfig, FullFile) {
  const char* text = R"(
[daemon]
metrics_listen = "[::1]:9500"
database = "/var/lib/q.db"
mode = "enforce"
summary_interval_s = 30
history_max_pct = 10

[defaults]
min_quantum_us = 500
base_quantum_us = 3000
max_quantum_us = 9000
weight = 200

[[vm]]
name = "web*"
base_quantum_us = 2000
weight = 300

[[vm]]
name = "web1"
enabled = false

[[vm]]
name = "db[0-9]"
max_quantum_us = 20000
base_quantum_us = 12000
)";
  std::string err;
  auto c = ParseConfig(text, "q.toml", &err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->daemon.metrics_listen, "[::1]:9500");
  EXPECT_EQ(c->daemon.mode, "enforce");
  EXPECT_EQ(c->daemon.history_max_pct, 10u);
  EXPECT_EQ(c->defaults, (Policy{true, 500, 3000, 9000, 200}));
  ASSERT_EQ(c->vms.size(), 3u);
  EXPECT_TRUE(c->vms[0].glob);
  EXPECT_FALSE(c->vms[1].glob);
  EXPECT_EQ(c->vms[0].line, 15);

  std::string rule;
  // Exact name beats an earlier glob.
  EXPECT_EQ(c->PolicyFor("web1", &rule), (Policy{false, 500, 3000, 9000, 200}));
  EXPECT_EQ(rule, "web1");
  EXPECT_EQ(c->PolicyFor("web2", &rule), (Policy{true, 500, 2000, 9000, 300}));
  EXPECT_EQ(rule, "web*");
  EXPECT_EQ(c->PolicyFor("db7", &rule), (Policy{true, 500, 12000, 20000, 200}));
  EXPECT_EQ(c->PolicyFor("db77", &rule), c->defaults);
  EXPECT_EQ(rule, "");
  EXPECT_EQ(c->PolicyFor("xweb1"), c->defaults);
}

// Groups: named in [[vm]] entries, each numbered by its name
// (GroupHome()), the same numbers whatever the order of the file; a VM of
// no group, or matched by no [[vm]], is in group 0.
TEST(QuantadConfig, GroupsByName) {
  const char* text = R"(
[defaults]
weight = 200

[[vm]]
name = "web-*"
group = "web"

[[vm]]
name = "web-canary"
group = "web.canary"
weight = 50

[[vm]]
name = "db[0-9]"
group = "DB_primary-2"

[[vm]]
name = "db9"
group = "web"

[[vm]]
name = "batch"
)";
  const uint32_t web = GroupHome("web"), canary = GroupHome("web.canary"),
                 db = GroupHome("DB_primary-2");
  ASSERT_EQ((std::set<uint32_t>{web, canary, db}).size(), 3u) << "homes must differ here";
  std::string err;
  auto c = ParseConfig(text, "q.toml", &err);
  ASSERT_TRUE(c) << err;
  // ASCII order: upper case before lower, '.' after the end of "web".
  EXPECT_EQ(c->groups, (std::vector<std::string>{"DB_primary-2", "web", "web.canary"}));
  EXPECT_EQ(c->PolicyFor("web-1").group, web);
  EXPECT_EQ(c->PolicyFor("web-1").weight, 200u);
  EXPECT_EQ(c->PolicyFor("web-canary"), (Policy{true, 1000, 4000, 8000, 50, canary}));
  EXPECT_EQ(c->PolicyFor("db3").group, db);
  EXPECT_EQ(c->PolicyFor("db9").group, web);  // exact beats the glob
  EXPECT_EQ(c->PolicyFor("batch").group, 0u);
  EXPECT_EQ(c->PolicyFor("other").group, 0u);
  EXPECT_EQ(c->defaults.group, 0u);
  EXPECT_EQ(c->vms[0].group, "web");
  EXPECT_EQ(c->vms[4].group, "");
  EXPECT_EQ(c->GroupName(db), "DB_primary-2");
  EXPECT_EQ(c->GroupName(canary), "web.canary");
  EXPECT_EQ(c->GroupName(0), "");
  for (uint32_t n = 1; n <= 4; ++n) {
    if (n != web && n != canary && n != db) {
      EXPECT_EQ(c->GroupName(n), "") << n;
    }
  }

  // The same names in another order: the same numbers.
  auto d = ParseConfig(
      "[[vm]]\nname = \"db9\"\ngroup = \"web\"\n[[vm]]\nname = \"web-canary\"\n"
      "group = \"web.canary\"\n[[vm]]\nname = \"db[0-9]\"\ngroup = \"DB_primary-2\"\n",
      "q.toml", &err);
  ASSERT_TRUE(d) << err;
  EXPECT_EQ(d->groups, c->groups);
  EXPECT_EQ(d->group_names, c->group_names);
  EXPECT_EQ(d->PolicyFor("db9").group, web);
  EXPECT_EQ(d->PolicyFor("web-canary").group, canary);
  EXPECT_EQ(d->PolicyFor("db1").group, db);

  // No group anywhere: no names, every VM in group 0.
  d = ParseConfig("[[vm]]\nname = \"a\"\nweight = 3\n", "q.toml", &err);
  ASSERT_TRUE(d) << err;
  EXPECT_TRUE(d->groups.empty());
  EXPECT_TRUE(d->group_names.empty());
  EXPECT_EQ(d->PolicyFor("a").group, 0u);

  // The longest name, every allowed character.
  const std::string longest(kGroupNameMax, 'x');
  d = ParseConfig("[[vm]]\nname = \"a\"\ngroup = \"" + longest +
                      "\"\n[[vm]]\nname = \"b\"\n"
                      "group = \"AZaz09._-\"\n",
                  "q.toml", &err);
  ASSERT_TRUE(d) << err;
  EXPECT_EQ(d->groups, (std::vector<std::string>{"AZaz09._-", longest}));
  EXPECT_EQ(d->PolicyFor("a").group, GroupHome(longest));
}

// The home is FNV-1a (32 bits) folded into 1..65535: fixed values, so that
// a change of the function, which renumbers every group on every host at
// the upgrade, shows.
TEST(QuantadConfig, GroupHomeIsFixed) {
  EXPECT_EQ(GroupHome(""), 2166136261u % 65535u + 1);
  EXPECT_EQ(GroupHome("a"), 0xe40c292cu % 65535u + 1);
  EXPECT_EQ(GroupHome("foobar"), 0xbf9cf968u % 65535u + 1);
  for (const char* name : {"a", "web", "db", "x"}) {
    EXPECT_GE(GroupHome(name), 1u);
    EXPECT_LE(GroupHome(name), static_cast<uint32_t>(kGroupMax));
  }
}

// A name keeps its number when others come and go; two names with one home
// split it in sort order, the later one taking the next free number.
TEST(QuantadConfig, GroupNumbersStable) {
  auto parse = [](const std::vector<std::string>& names) {
    std::string t, err;
    for (size_t i = 0; i < names.size(); ++i)
      t += "[[vm]]\nname = \"vm" + std::to_string(i) + "\"\ngroup = \"" + names[i] + "\"\n";
    auto c = ParseConfig(t, "q.toml", &err);
    EXPECT_TRUE(c) << err;
    return c ? *c : Config{};
  };
  auto number = [](const Config& c, const std::string& name) {
    for (const auto& [n, nm] : c.group_names)
      if (nm == name) return n;
    return 0u;
  };
  const Config one = parse({"web"});
  const Config three = parse({"a-batch", "web", "db"});
  EXPECT_EQ(number(one, "web"), GroupHome("web"));
  EXPECT_EQ(number(three, "web"), number(one, "web"));
  EXPECT_EQ(number(three, "db"), GroupHome("db"));
  EXPECT_EQ(number(parse({"db"}), "db"), number(three, "db"));

  // Two names of one home: find such a pair among g0, g1, ...
  std::map<uint32_t, std::string> seen;
  std::string first, second;
  for (int i = 0; second.empty(); ++i) {
    const std::string name = "g" + std::to_string(i);
    auto [it, fresh] = seen.emplace(GroupHome(name), name);
    if (!fresh) std::tie(first, second) = std::minmax(it->second, name);
  }
  const uint32_t home = GroupHome(first), next = home % 65535 + 1;
  for (const auto& names :
       {std::vector<std::string>{first, second}, std::vector<std::string>{second, first}}) {
    const Config c = parse(names);
    EXPECT_EQ(number(c, first), home) << first << " " << second;
    EXPECT_EQ(number(c, second), next) << first << " " << second;
  }
  // Alone, the later one has its home.
  EXPECT_EQ(number(parse({second}), second), home);
}

// At most KQ_GROUP_MAX group names: the module's group is 1..65535.
TEST(QuantadConfig, GroupNumbersEnd) {
  auto text = [](size_t n) {
    std::string t;
    for (size_t i = 0; i < n; ++i)
      t += "[[vm]]\nname = \"vm" + std::to_string(i) + "\"\ngroup = \"g" + std::to_string(i) +
           "\"\n";
    return t;
  };
  const size_t max = static_cast<size_t>(kGroupMax);
  std::string err;
  auto c = ParseConfig(text(max), "q.toml", &err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->groups.size(), max);
  // Every number taken once: the first is 1, the last kGroupMax.
  ASSERT_EQ(c->group_names.size(), max);
  EXPECT_EQ(c->group_names.begin()->first, 1u);
  EXPECT_EQ(c->group_names.rbegin()->first, static_cast<uint32_t>(kGroupMax));
  // One more name: "g65535" sorts after "g65534" and before "g6554", 65536th
  // of the sorted names is "g9999", that of the entry vm9999 (line 30000).
  EXPECT_EQ(ErrorOf(text(max + 1)),
            "q.toml:30000: too many groups: 65536 group names, the module numbers at most 65535 "
            "(group \"g9999\")");
}

// The shipped example is a valid configuration, its group numbered.
TEST(QuantadConfig, ExampleFileLoads) {
  std::string err;
  auto c = LoadConfig(QUANTAD_EXAMPLE, &err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->groups, (std::vector<std::string>{"api"}));
  EXPECT_EQ(c->PolicyFor("api-replica-2").group, GroupHome("api"));
  EXPECT_EQ(c->PolicyFor("db1").group, 0u);
}

TEST(QuantadConfig, GlobFirstMatchWins) {
  std::string err;
  auto c = ParseConfig("[[vm]]\nname = \"a*\"\nweight = 1\n[[vm]]\nname = \"*\"\nweight = 2\n",
                       "q.toml", &err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->PolicyFor("abc").weight, 1u);
  EXPECT_EQ(c->PolicyFor("b").weight, 2u);
  EXPECT_EQ(c->PolicyFor("pid-12").weight, 2u);
}

TEST(QuantadConfig, Errors) {
  EXPECT_EQ(ErrorOf("[defaults]\nweight = \"x\"\n"),
            "q.toml:2: weight must be an integer, not a string");
  EXPECT_EQ(ErrorOf("[defaults]\n\nmin_quantum_us = 99\n"),
            "q.toml:3: min_quantum_us = 99 is out of range 100..100000");
  EXPECT_EQ(ErrorOf("[defaults]\nmax_quantum_us = 100001\n"),
            "q.toml:2: max_quantum_us = 100001 is out of range 100..100000");
  EXPECT_EQ(ErrorOf("[defaults]\nweight = 0\n"), "q.toml:2: weight = 0 is out of range 1..10000");
  EXPECT_EQ(ErrorOf("[defaults]\nweight = 10001\n"),
            "q.toml:2: weight = 10001 is out of range 1..10000");
  EXPECT_EQ(ErrorOf("[defaults]\nenabled = 1\n"),
            "q.toml:2: enabled must be true or false, not an integer");
  EXPECT_EQ(ErrorOf("[defaults]\nbogus = 1\n"), "q.toml:2: unknown key \"bogus\" in [defaults]");
  EXPECT_EQ(ErrorOf("\n[daemon]\nmetrics_port = 1\n"),
            "q.toml:3: unknown key \"metrics_port\" in [daemon]");
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\nquantum = 5\n"),
            "q.toml:3: unknown key \"quantum\" in [[vm]]");
  EXPECT_EQ(ErrorOf("[whatever]\n"), "q.toml:1: unknown key or table \"whatever\"");
  EXPECT_EQ(ErrorOf("[daemon]\nmode = \"fast\"\n"),
            "q.toml:2: mode must be \"observe\" or \"enforce\", not \"fast\"");
  EXPECT_EQ(ErrorOf("[daemon]\ndatabase = \"rel.db\"\n"),
            "q.toml:2: database must be an absolute path");
  EXPECT_EQ(ErrorOf("[daemon]\nmetrics_listen = \"127.0.0.1\"\n"),
            "q.toml:2: metrics_listen: expected HOST:PORT");
  EXPECT_EQ(ErrorOf("[daemon]\nmetrics_listen = \"127.0.0.1:0\"\n"),
            "q.toml:2: metrics_listen: port must be 1..65535");
  EXPECT_EQ(ErrorOf("[daemon]\nmetrics_listen = \"example.com:80\"\n"),
            "q.toml:2: metrics_listen: \"example.com\" is not an IP address");
  EXPECT_EQ(ErrorOf("[daemon]\nmetrics_listen = \"0.0.0.0:9477\"\n"),
            "q.toml:2: metrics_listen 0.0.0.0:9477 is not a loopback address: set "
            "metrics_allow_remote = true to expose the metrics beyond this host");
  // Duplicate names, missing names.
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\n[[vm]]\nname = \"a\"\n"),
            "q.toml:4: duplicate [[vm]] name \"a\"");
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\n\n[[vm]]\nweight = 3\n"),
            "q.toml:4: [[vm]] without a name");
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"\"\n"), "q.toml:2: name must not be empty");
  EXPECT_EQ(ErrorOf("vm = 3\n"),
            "q.toml:1: vm must be an array of tables ([[vm]]), not an integer");
  // TOML syntax errors come with their line too.
  EXPECT_EQ(ErrorOf("[defaults]\nweight = = 3\n").rfind("q.toml:2: ", 0), 0u);
  EXPECT_EQ(ErrorOf("[defaults]\n[defaults]\n").rfind("q.toml:2: ", 0), 0u);
}

TEST(QuantadConfig, GroupErrors) {
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\ngroup = \"\"\n"), "q.toml:3: group must not be empty");
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\n\ngroup = 3\n"),
            "q.toml:4: group must be a string (the group's name), not an integer");
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\ngroup = true\n"),
            "q.toml:3: group must be a string (the group's name), not a boolean");
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\ngroup = [\"web\"]\n"),
            "q.toml:3: group must be a string (the group's name), not an array");
  EXPECT_EQ(
      ErrorOf("[[vm]]\nname = \"a\"\ngroup = \"" + std::string(kGroupNameMax + 1, 'g') + "\"\n"),
      "q.toml:3: group \"" + std::string(kGroupNameMax + 1, 'g') +
          "\" is 65 characters long, at most 64");
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\ngroup = \"web 1\"\n"),
            "q.toml:3: group \"web 1\": character 4 is not one of A-Z a-z 0-9 . _ -");
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\ngroup = \"web/1\"\n"),
            "q.toml:3: group \"web/1\": character 4 is not one of A-Z a-z 0-9 . _ -");
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\ngroup = \"w\u00e9b\"\n"),
            "q.toml:3: group \"w\\xc3\\xa9b\": character 2 is not one of A-Z a-z 0-9 . _ -");
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\ngroup = \"web*\"\n"),
            "q.toml:3: group \"web*\": character 4 is not one of A-Z a-z 0-9 . _ -");
  // Not in [defaults]: it would group every VM the [[vm]] entries miss.
  EXPECT_EQ(ErrorOf("[defaults]\nweight = 5\ngroup = \"web\"\n"),
            "q.toml:3: group is not allowed in [defaults]: put the VMs of a group in [[vm]] "
            "entries (a default group would make every other VM on the host, of any tenant, "
            "one group)");
  // Nor a number in [host], nor group_shift_pct in a [[vm]].
  EXPECT_EQ(ErrorOf("[host]\ngroup = 1\n").rfind("q.toml:2: unknown key \"group\" in [host]", 0),
            0u);
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\ngroup_shift_pct = 10\n"),
            "q.toml:3: unknown key \"group_shift_pct\" in [[vm]]");
  // A control character or quote shows escaped: the message stays one line.
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"a\"\ngroup = \"web\\n\\\"1\"\n"),
            "q.toml:3: group \"web\\x0a\\x221\": character 4 is not one of A-Z a-z 0-9 . _ -");
  for (const char* bad : {"", "a b", "a:b", "a\n", "a\"", "a\\"})
    EXPECT_TRUE(GroupNameError(bad)) << bad;
}

// [host]: the module's host-wide parameters (HostParams()), as integers.
TEST(QuantadConfig, HostTable) {
  std::string err;
  auto c = ParseConfig(
      "[daemon]\nmode = \"enforce\"\n\n[host]\nlatency_boost = 3\nratelimit_us = 0\n"
      "warm_exit_rate_milli = 1000000000\ndebt_max_us = 30000\ngroup_shift_pct = 30\n",
      "q.toml", &err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ(c->host, (KnobValues{{"latency_boost", 3},
                                 {"ratelimit_us", 0},
                                 {"warm_exit_rate_milli", 1000000000},
                                 {"debt_max_us", 30000},
                                 {"group_shift_pct", 30}}));
  // Absent or empty: nothing to set.
  c = ParseConfig("[defaults]\n", "q.toml", &err);
  ASSERT_TRUE(c) << err;
  EXPECT_TRUE(c->host.empty());
  c = ParseConfig("[host]\n", "q.toml", &err);
  ASSERT_TRUE(c) << err;
  EXPECT_TRUE(c->host.empty());
  // Every parameter, at both ends of its range.
  for (const KnobSpec& s : HostParams()) {
    for (uint64_t v : {s.lo, s.hi}) {
      c = ParseConfig("[host]\n" + std::string(s.name) + " = " + std::to_string(v) + "\n", "q.toml",
                      &err);
      ASSERT_TRUE(c) << s.name << "=" << v << ": " << err;
      EXPECT_EQ(c->host, (KnobValues{{s.name, v}}));
    }
  }
}

TEST(QuantadConfig, HostTableErrors) {
  EXPECT_EQ(ErrorOf("[host]\nlatency_boost = 4\n"),
            "q.toml:2: latency_boost = 4 is out of range 0..3");
  EXPECT_EQ(ErrorOf("[host]\n\nlatency_boost = -1\n"),
            "q.toml:3: latency_boost = -1 is out of range 0..3");
  EXPECT_EQ(ErrorOf("[host]\nratelimit_us = 100001\n"),
            "q.toml:2: ratelimit_us = 100001 is out of range 0..100000");
  EXPECT_EQ(ErrorOf("[host]\nflush_burst_pct = 1001\n"),
            "q.toml:2: flush_burst_pct = 1001 is out of range 0..1000");
  EXPECT_EQ(ErrorOf("[host]\nhost_thresholds = 2\n"),
            "q.toml:2: host_thresholds = 2 is out of range 0..1");
  EXPECT_EQ(ErrorOf("[host]\nhost_thresholds = true\n"),
            "q.toml:2: host_thresholds must be an integer 0..1, not a boolean");
  EXPECT_EQ(ErrorOf("[host]\nwarm_pct = 0\n"), "q.toml:2: warm_pct = 0 is out of range 1..50");
  EXPECT_EQ(ErrorOf("[host]\nwarm_pct = 51\n"), "q.toml:2: warm_pct = 51 is out of range 1..50");
  EXPECT_EQ(ErrorOf("[host]\nflush_pct = 49\n"), "q.toml:2: flush_pct = 49 is out of range 50..99");
  EXPECT_EQ(ErrorOf("[host]\nflush_pct = 100\n"),
            "q.toml:2: flush_pct = 100 is out of range 50..99");
  EXPECT_EQ(ErrorOf("[host]\ngroup_shift_pct = 51\n"),
            "q.toml:2: group_shift_pct = 51 is out of range 0..50");
  EXPECT_EQ(ErrorOf("[host]\ngroup_shift_pct = -1\n"),
            "q.toml:2: group_shift_pct = -1 is out of range 0..50");
  EXPECT_EQ(ErrorOf("[host]\ngroup_shift_pct = \"20\"\n"),
            "q.toml:2: group_shift_pct must be an integer 0..50, not a string");
  EXPECT_EQ(ErrorOf("[host]\nlatency_boost = \"2\"\n"),
            "q.toml:2: latency_boost must be an integer 0..3, not a string");
  EXPECT_EQ(ErrorOf("[host]\ndebt_max_us = 1.5\n"),
            "q.toml:2: debt_max_us must be an integer 0..10000000, not a float");
  EXPECT_EQ(ErrorOf("[host]\nlatency_boost = true\n"),
            "q.toml:2: latency_boost must be an integer 0..3, not a boolean");
  EXPECT_EQ(ErrorOf("[host.latency_boost]\n"),
            "q.toml:1: latency_boost must be an integer 0..3, not a table");
  const std::string unknown = ErrorOf("[host]\nlatency_boost = 1\nlatency_bost = 1\n");
  EXPECT_EQ(unknown.rfind("q.toml:3: unknown key \"latency_bost\" in [host] (the module's host "
                          "parameters: warm_ipc_milli, ",
                          0),
            0u)
      << unknown;
  EXPECT_NE(unknown.find("latency_boost"), std::string::npos) << unknown;
  // A per-VM knob is not a host parameter.
  EXPECT_EQ(
      ErrorOf("[host]\nweight = 100\n").rfind("q.toml:2: unknown key \"weight\" in [host]", 0), 0u);
  EXPECT_EQ(ErrorOf("host = 3\n"), "q.toml:1: [host] must be a table, not an integer");
  // One bad parameter refuses the whole file, however good the rest.
  EXPECT_EQ(ErrorOf("[daemon]\nmode = \"enforce\"\n[defaults]\nweight = 200\n[[vm]]\n"
                    "name = \"a\"\n[host]\nratelimit_us = 500\nlatency_boost = 9\n"),
            "q.toml:9: latency_boost = 9 is out of range 0..3");
}

TEST(QuantadConfig, OrderAfterMerge) {
  EXPECT_EQ(ErrorOf("[defaults]\nmin_quantum_us = 5000\n"),
            "q.toml:1: [defaults]: min_quantum_us 5000 <= base_quantum_us 4000 <= "
            "max_quantum_us 8000 does not hold (after merging with [defaults])");
  // Valid alone, invalid merged: a VM's base above the defaults' max.
  EXPECT_EQ(ErrorOf("[defaults]\nmax_quantum_us = 6000\n\n[[vm]]\nname = \"big\"\n"
                    "base_quantum_us = 7000\n"),
            "q.toml:4: [[vm]] \"big\": min_quantum_us 1000 <= base_quantum_us 7000 <= "
            "max_quantum_us 6000 does not hold (after merging with [defaults])");
  // Raising max with base is fine.
  std::string err;
  EXPECT_TRUE(
      ParseConfig("[[vm]]\nname = \"big\"\nbase_quantum_us = 9000\n"
                  "max_quantum_us = 12000\n",
                  "q.toml", &err))
      << err;
}

TEST(QuantadConfig, RemoteNeedsOptIn) {
  std::string err;
  auto c = ParseConfig("[daemon]\nmetrics_listen = \"0.0.0.0:9477\"\nmetrics_allow_remote = true\n",
                       "q.toml", &err);
  ASSERT_TRUE(c) << err;
}

TEST(QuantadConfig, ParseListen) {
  std::string err;
  auto a = ParseListen("127.0.0.2:1", &err);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->loopback);
  EXPECT_EQ(a->port, 1);
  a = ParseListen("localhost:9477", &err);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->loopback);
  EXPECT_EQ(a->host, "127.0.0.1");
  a = ParseListen("[::1]:9477", &err);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->loopback);
  EXPECT_EQ(a->host, "::1");
  a = ParseListen("[::]:9477", &err);
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->loopback);
  EXPECT_FALSE(ParseListen("1.2.3.4:65536", &err));
  EXPECT_FALSE(ParseListen("[::1]9477", &err));
}

TEST(QuantadConfig, LoadMissingFile) {
  std::string err;
  EXPECT_FALSE(LoadConfig("/nonexistent/q.toml", &err));
  EXPECT_EQ(err, "/nonexistent/q.toml: cannot open: No such file or directory");
}

TEST(QuantadConfig, BrokenGlobRefused) {
  EXPECT_EQ(ErrorOf("[[vm]]\nname = \"db[12\"\n"),
            "q.toml:2: pattern \"db[12\": '[' at offset 2 is not closed by ']'");
  EXPECT_NE(ErrorOf("[[vm]]\nname = \"a*[!]\"\n").find("not closed"), std::string::npos);
  std::string err;
  for (const char* ok : {"db[12]", "db[!3]*", "x[]]y", "a?c", "lit\\\\[x"})
    EXPECT_TRUE(ParseConfig(std::string("[[vm]]\nname = \"") + ok + "\"\n", "q.toml", &err))
        << ok << ": " << err;
}

TEST(QuantadConfig, LoadRefusesDirectoryAndMissing) {
  std::string err;
  EXPECT_FALSE(LoadConfig("/tmp", &err));
  EXPECT_EQ(err, "/tmp: not a regular file (a directory)");
  EXPECT_FALSE(LoadConfig("/nonexistent/q.toml", &err));
  EXPECT_NE(err.find("No such file"), std::string::npos) << err;
}

TEST(QuantadConfig, ListenOverrideObeysAllowRemote) {
  std::string err;
  auto c = ParseConfig("[defaults]\n", "q.toml", &err);
  ASSERT_TRUE(c) << err;
  EXPECT_FALSE(RemoteListenError("127.0.0.1:9477", *c));
  EXPECT_FALSE(RemoteListenError("[::1]:9477", *c));
  auto why = RemoteListenError("0.0.0.0:9491", *c);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("metrics_allow_remote"), std::string::npos);
  EXPECT_TRUE(RemoteListenError("nonsense", *c));
  c->daemon.metrics_allow_remote = true;
  EXPECT_FALSE(RemoteListenError("0.0.0.0:9491", *c));
}

}  // namespace
}  // namespace kq::quantad
