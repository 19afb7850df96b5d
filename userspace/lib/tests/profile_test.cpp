// SPDX-License-Identifier: GPL-2.0
// A profile as JSON (quantactl profile export/import): round trip, and
// every malformed document refused with the key that is wrong.
#include "profile.hpp"

#include <gtest/gtest.h>

namespace kq {
namespace {

using nlohmann::json;

Profile Sample() {
  Profile p;
  p.windows = 1000;
  p.ipc_sum = 12.5;
  p.ipc_n = 10;
  p.exit_rate_sum = 300.25;
  p.exit_rate_n = 900;
  p.quantum_ns_sum = 4e9;
  p.quantum_n = 1000;
  p.decisions = {1, 2, 3, 4, 5, 6, 7, 8};
  p.updated_unix = 1700000000;
  return p;
}

TEST(QuantadProfileJson, RoundTrip) {
  const Profile p = Sample();
  std::string err;
  auto back = ProfileFromJson(json::parse(ProfileToJson(p).dump()), &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(*back, p);
  EXPECT_EQ(ProfileToJson(p)["decisions"]["exit_heavy"], 3);
}

TEST(QuantadProfileJson, Refused) {
  const json good = ProfileToJson(Sample());
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& j) { j = json::array(); }, "profile: not an object"},
      {[](json& j) { j.erase("windows"); }, "windows: missing"},
      {[](json& j) { j["windows"] = "many"; }, "windows: not an unsigned integer"},
      {[](json& j) { j["windows"] = -1; }, "windows: not an unsigned integer"},
      {[](json& j) { j["windows"] = 1.5; }, "windows: not an unsigned integer"},
      {[](json& j) { j["windows"] = 18446744073709551615ull; }, "windows: too large"},
      {[](json& j) { j["ipc_sum"] = -2.0; }, "ipc_sum: not a finite number >= 0"},
      {[](json& j) { j["ipc_sum"] = nullptr; }, "ipc_sum: not a finite number >= 0"},
      {[](json& j) { j["ipc_n"] = 5000; }, "ipc_n: 5000 is more than windows (1000)"},
      {[](json& j) { j["quantum_n"] = 0; }, "quantum_ns_sum: not 0 while quantum_n is 0"},
      {[](json& j) { j["bogus"] = 1; }, "bogus: unknown key"},
      {[](json& j) { j["decisions"] = 3; }, "decisions: missing or not an object"},
      {[](json& j) { j["decisions"]["sleepy"] = 1; }, "decisions: unknown reason \"sleepy\""},
      {[](json& j) { j["decisions"]["warm"] = "x"; }, "decisions.warm: not an unsigned integer"},
  };
  for (const auto& [mutate, want] : cases) {
    json j = good;
    mutate(j);
    std::string err;
    EXPECT_FALSE(ProfileFromJson(j, &err)) << j.dump();
    EXPECT_EQ(err, want) << j.dump();
  }
}

}  // namespace
}  // namespace kq
