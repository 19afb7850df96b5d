// SPDX-License-Identifier: GPL-2.0
#include "store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace kq {
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

class QuantadStoreFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/quantad-db-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/q.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* msg = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg), SQLITE_OK) << msg;
    sqlite3_free(msg);
    sqlite3_close(db);
  }
  std::string dir_, path_;
};

// The first, unversioned layout, as a build with one reason fewer (no
// "idle") wrote it: opened, it is migrated, nothing is lost.
TEST_F(QuantadStoreFile, MigratesUnversionedLayout) {
  Sql("CREATE TABLE profiles (name TEXT PRIMARY KEY, windows INTEGER NOT NULL, "
      "ipc_sum REAL NOT NULL, ipc_n INTEGER NOT NULL, exit_rate_sum REAL NOT NULL, "
      "exit_rate_n INTEGER NOT NULL, quantum_ns_sum REAL NOT NULL, quantum_n INTEGER NOT NULL, "
      "d_base INTEGER NOT NULL DEFAULT 0, d_warm INTEGER NOT NULL DEFAULT 0, "
      "d_exit_heavy INTEGER NOT NULL DEFAULT 0, d_flush INTEGER NOT NULL DEFAULT 0, "
      "d_spin INTEGER NOT NULL DEFAULT 0, d_phase_end INTEGER NOT NULL DEFAULT 0, "
      "d_payback INTEGER NOT NULL DEFAULT 0, updated_unix INTEGER NOT NULL);"
      "CREATE VIEW profile_summary AS SELECT name FROM profiles;"
      "INSERT INTO profiles VALUES ('web1', 700, 1.5, 1, 20.0, 2, 8e6, 2, 5, 6, 7, 0, 0, 0, 9, "
      "1700000000);");
  std::string err, note;
  auto st = ProfileStore::Open(path_, &err, &note);
  ASSERT_TRUE(st) << err;
  EXPECT_EQ(note, "");
  std::map<std::string, Profile> out;
  ASSERT_TRUE(st->LoadAll(&out, &err)) << err;
  ASSERT_EQ(out.count("web1"), 1u);
  const Profile& p = out["web1"];
  EXPECT_EQ(p.windows, 700u);
  EXPECT_EQ(p.exit_rate_n, 2u);
  EXPECT_EQ(p.updated_unix, 1700000000);
  EXPECT_EQ(p.decisions, (std::array<uint64_t, kReasons>{5, 6, 7, 0, 0, 0, 9, 0}));
  // And it is now the current layout: saving and reopening round-trips.
  out["web1"].decisions[KVM_QUANTA_R_IDLE] = 4;
  ASSERT_TRUE(st->SaveAll(out, &err)) << err;
  st.reset();
  st = ProfileStore::Open(path_, &err);
  ASSERT_TRUE(st) << err;
  std::map<std::string, Profile> again;
  ASSERT_TRUE(st->LoadAll(&again, &err)) << err;
  EXPECT_EQ(again, out);
}

TEST_F(QuantadStoreFile, CorruptFileIsMovedAside) {
  std::ofstream(path_) << "this is not an SQLite database, just some text long enough\n";
  std::string err, note;
  auto st = ProfileStore::Open(path_, &err, &note);
  ASSERT_TRUE(st) << err;
  EXPECT_NE(note.find("moved to " + path_ + ".corrupt-"), std::string::npos) << note;
  std::map<std::string, Profile> out;
  ASSERT_TRUE(st->LoadAll(&out, &err)) << err;
  EXPECT_TRUE(out.empty());
  int aside = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    aside += e.path().filename().string().rfind("q.db.corrupt-", 0) == 0;
  EXPECT_EQ(aside, 1);
}

TEST_F(QuantadStoreFile, NewerSchemaIsRefusedUntouched) {
  Sql("CREATE TABLE future (x); PRAGMA user_version = 99;");
  std::string err;
  EXPECT_FALSE(ProfileStore::Open(path_, &err));
  EXPECT_NE(err.find("schema version 99 is newer"), std::string::npos) << err;
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(QuantadStoreFile, DeleteAndUnnamed) {
  std::string err;
  auto st = ProfileStore::Open(path_, &err);
  ASSERT_TRUE(st) << err;
  Profile p;
  p.windows = 5;
  p.decisions[0] = 1;
  ASSERT_TRUE(st->SaveAll({{"web1", p}, {"pid-123", p}, {"db2", p}, {"pid-x", p}}, &err)) << err;
  ASSERT_TRUE(st->DeleteUnnamed(&err)) << err;
  ASSERT_TRUE(st->Delete("db2", &err)) << err;
  std::map<std::string, Profile> out;
  ASSERT_TRUE(st->LoadAll(&out, &err)) << err;
  EXPECT_EQ(out.size(), 2u);
  EXPECT_TRUE(out.count("web1") && out.count("pid-x"));
  EXPECT_FALSE(st->Load("db2", &err));
  EXPECT_EQ(err, "no profile named \"db2\"");
  auto one = st->Load("web1", &err);
  ASSERT_TRUE(one) << err;
  EXPECT_EQ(*one, p);
}

TEST_F(QuantadStoreFile, ImportsAreTakenOnce) {
  std::string err;
  auto st = ProfileStore::Open(path_, &err);
  ASSERT_TRUE(st) << err;
  Profile p;
  p.windows = 42;
  p.exit_rate_sum = 3.5;
  p.exit_rate_n = 2;
  p.decisions[KVM_QUANTA_R_WARM] = 7;
  ASSERT_TRUE(st->QueueImport("web1", p, &err)) << err;
  std::map<std::string, Profile> in;
  ASSERT_TRUE(st->TakeImports(&in, &err)) << err;
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in["web1"], p);
  in.clear();
  ASSERT_TRUE(st->TakeImports(&in, &err)) << err;
  EXPECT_TRUE(in.empty());
}

TEST(QuantadStore, OpenFails) {
  std::string err;
  EXPECT_FALSE(ProfileStore::Open("/nonexistent-dir/q.db", &err));
  EXPECT_NE(err.find("/nonexistent-dir/q.db"), std::string::npos);
}

}  // namespace
}  // namespace kq
