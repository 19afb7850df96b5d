// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store.hpp"

namespace kq::quantad {
namespace {

TEST(QuantadStore, RoundTrip) {
  char tmpl[] = "/tmp/quantad-db-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/q.db";
  std::map<std::string, Profile> in;
  Profile a;
  a.windows = 1234;
  a.ipc_sum = 1.5;
  a.ipc_n = 1;
  a.exit_rate_sum = 20.25;
  a.exit_rate_n = 3;
  a.quantum_ns_sum = 8e9;
  a.quantum_n = 1000;
  a.decisions = {1, 2, 3, 4, 5, 6, 7, 1ull << 40};
  a.updated_unix = 1700000000;
  in["web1"] = a;
  in["it's \"quoted\""] = Profile{};
  {
    std::string err;
    auto st = ProfileStore::Open(path, &err);
    ASSERT_TRUE(st) << err;
    ASSERT_TRUE(st->SaveAll(in, &err)) << err;
    in["web1"].windows = 2000;  // a second save replaces
    ASSERT_TRUE(st->SaveAll(in, &err)) << err;
  }
  std::string err;
  auto st = ProfileStore::Open(path, &err);
  ASSERT_TRUE(st) << err;
  std::map<std::string, Profile> out;
  ASSERT_TRUE(st->LoadAll(&out, &err)) << err;
  EXPECT_EQ(out, in);
  std::filesystem::remove_all(tmpl);
}

TEST(QuantadStore, OpenFails) {
  std::string err;
  EXPECT_FALSE(ProfileStore::Open("/nonexistent-dir/q.db", &err));
  EXPECT_NE(err.find("/nonexistent-dir/q.db"), std::string::npos);
}

}  // namespace
}  // namespace kq::quantad
