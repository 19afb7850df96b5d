// SPDX-License-Identifier: GPL-2.0
#include "store.hpp"

#include <sqlite3.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <vector>

namespace kq {
namespace {

constexpr const char* kProfileColumns =
    "name, windows, ipc_sum, ipc_n, exit_rate_sum, exit_rate_n, quantum_ns_sum, quantum_n, "
    "updated_unix";

// Version 2.  Decisions are rows by reason name, so a build with more (or
// fewer) reasons reads the same database without a migration.
constexpr const char* kSchemaV2 =
    "CREATE TABLE profiles (name TEXT PRIMARY KEY, windows INTEGER NOT NULL, "
    "ipc_sum REAL NOT NULL, ipc_n INTEGER NOT NULL, exit_rate_sum REAL NOT NULL, "
    "exit_rate_n INTEGER NOT NULL, quantum_ns_sum REAL NOT NULL, quantum_n INTEGER NOT NULL, "
    "updated_unix INTEGER NOT NULL);"
    "CREATE TABLE decisions (name TEXT NOT NULL, "
    "reason TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (name, reason));"
    "CREATE TABLE imports (name TEXT PRIMARY KEY, profile TEXT NOT NULL, "
    "queued_unix INTEGER NOT NULL);"
    "CREATE VIEW profile_summary AS SELECT name, windows, "
    "CASE WHEN ipc_n > 0 THEN ipc_sum / ipc_n END AS mean_ipc, "
    "CASE WHEN exit_rate_n > 0 THEN exit_rate_sum / exit_rate_n END AS exits_per_ms, "
    "CASE WHEN quantum_n > 0 THEN quantum_ns_sum / quantum_n END AS mean_quantum_ns, "
    "(SELECT group_concat(reason || '=' || count, ' ') FROM decisions d "
    "WHERE d.name = profiles.name) AS decisions, updated_unix FROM profiles;";

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

std::string Err(sqlite3* db) { return std::string("sqlite: ") + sqlite3_errmsg(db); }

bool IsCorrupt(int rc) {
  rc &= 0xff;
  return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

// Returns an SQLite result code; *v the user_version.
int UserVersion(sqlite3* db, int* v) {
  Stmt st;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st.s, nullptr);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(st.s);
  if (rc != SQLITE_ROW) return rc;
  *v = sqlite3_column_int(st.s, 0);
  return SQLITE_OK;
}

// quick_check: "ok", or the first problem.
int QuickCheck(sqlite3* db, std::string* problem) {
  Stmt st;
  int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st.s, nullptr);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(st.s);
  if (rc != SQLITE_ROW) return rc;
  const char* r = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
  *problem = r ? r : "";
  return SQLITE_OK;
}

bool TableExists(sqlite3* db, const char* name) {
  Stmt st;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1,
                         &st.s, nullptr) != SQLITE_OK)
    return false;
  sqlite3_bind_text(st.s, 1, name, -1, SQLITE_STATIC);
  return sqlite3_step(st.s) == SQLITE_ROW;
}

std::vector<std::string> Columns(sqlite3* db, const char* table) {
  std::vector<std::string> out;
  Stmt st;
  const std::string sql = std::string("PRAGMA table_info(") + table + ")";
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) return out;
  while (sqlite3_step(st.s) == SQLITE_ROW)
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st.s, 1)));
  return out;
}

}  // namespace

ProfileStore::~ProfileStore() { sqlite3_close(db_); }

bool ProfileStore::Exec(const std::string& sql, std::string* error) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    *error = std::string("sqlite: ") + (msg ? msg : "error");
    sqlite3_free(msg);
    return false;
  }
  return true;
}

// Creates the schema in an empty database, or migrates version 0 (the
// first layout: profiles with one d_<reason> column per reason and the
// view) to version 2, in one transaction.
bool ProfileStore::Prepare(std::string* error) {
  int version = 0;
  if (int rc = UserVersion(db_, &version); rc != SQLITE_OK) {
    *error = Err(db_);
    return false;
  }
  if (version == kSchemaVersion) return true;
  if (version > kSchemaVersion) {
    *error = "schema version " + std::to_string(version) + " is newer than this quantad's (" +
             std::to_string(kSchemaVersion) + "); left untouched";
    return false;
  }
  if (version != 0) {
    *error = "unknown schema version " + std::to_string(version);
    return false;
  }
  if (!Exec("BEGIN IMMEDIATE", error)) return false;
  std::string sql;
  if (TableExists(db_, "profiles")) {
    sql = "DROP VIEW IF EXISTS profile_summary; ALTER TABLE profiles RENAME TO profiles_v0;";
    sql += kSchemaV2;
    sql += std::string("INSERT INTO profiles (") + kProfileColumns + ") SELECT " + kProfileColumns +
           " FROM profiles_v0;";
    // Whatever reasons that build had, by the names its columns carry.
    for (const std::string& c : Columns(db_, "profiles")) {
      if (c.rfind("d_", 0) != 0 ||
          c.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos)
        continue;
      sql += "INSERT INTO decisions (name, reason, count) SELECT name, '" + c.substr(2) + "', " +
             c + " FROM profiles_v0 WHERE " + c + " != 0;";
    }
    sql += "DROP TABLE profiles_v0;";
  } else {
    sql = kSchemaV2;
  }
  sql += "PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";";
  if (!Exec(sql, error)) {
    std::string ignored;
    Exec("ROLLBACK", &ignored);
    return false;
  }
  return Exec("COMMIT", error);
}

std::unique_ptr<ProfileStore> ProfileStore::Open(const std::string& path, std::string* error,
                                                 std::string* note) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<ProfileStore> st(new ProfileStore());
    if (sqlite3_open_v2(path.c_str(), &st->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        nullptr) != SQLITE_OK) {
      *error = path + ": " + (st->db_ ? sqlite3_errmsg(st->db_) : "cannot open");
      return nullptr;
    }
    sqlite3_busy_timeout(st->db_, 2000);
    std::string problem;
    int rc = QuickCheck(st->db_, &problem);
    if (rc == SQLITE_OK && problem != "ok") rc = SQLITE_CORRUPT;
    if (rc == SQLITE_OK) {
      if (st->Prepare(error)) return st;
      *error = path + ": " + *error;
      return nullptr;
    }
    if (!IsCorrupt(rc) || attempt > 0) {
      *error = path + ": " + (problem.empty() || problem == "ok" ? Err(st->db_) : problem);
      return nullptr;
    }
    // Not a database, or a damaged one: keep it for inspection and start
    // afresh rather than stop the daemon (a restart loop under systemd).
    st.reset();
    const std::string aside = path + ".corrupt-" + std::to_string(time(nullptr));
    if (std::rename(path.c_str(), aside.c_str()) != 0) {
      *error = path + ": corrupt, and cannot be moved aside to " + aside;
      return nullptr;
    }
    if (note)
      *note =
          path + " is not a usable database (" +
          (problem.empty() || problem == "ok" ? std::string("not SQLite or corrupt") : problem) +
          "): moved to " + aside + ", starting with no profiles";
  }
  return nullptr;
}

bool ProfileStore::Load(const char* where, const std::string* name,
                        std::map<std::string, Profile>* out, std::string* error) {
  std::string sql = std::string("SELECT ") + kProfileColumns + " FROM profiles" + where;
  Stmt st;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
    *error = Err(db_);
    return false;
  }
  if (name) sqlite3_bind_text(st.s, 1, name->c_str(), -1, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    Profile p;
    const char* n = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
    p.windows = static_cast<uint64_t>(sqlite3_column_int64(st.s, 1));
    p.ipc_sum = sqlite3_column_double(st.s, 2);
    p.ipc_n = static_cast<uint64_t>(sqlite3_column_int64(st.s, 3));
    p.exit_rate_sum = sqlite3_column_double(st.s, 4);
    p.exit_rate_n = static_cast<uint64_t>(sqlite3_column_int64(st.s, 5));
    p.quantum_ns_sum = sqlite3_column_double(st.s, 6);
    p.quantum_n = static_cast<uint64_t>(sqlite3_column_int64(st.s, 7));
    p.updated_unix = sqlite3_column_int64(st.s, 8);
    if (n) (*out)[n] = p;
  }
  if (rc != SQLITE_DONE) {
    *error = Err(db_);
    return false;
  }
  Stmt d;
  sql = std::string("SELECT name, reason, count FROM decisions") + where;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &d.s, nullptr) != SQLITE_OK) {
    *error = Err(db_);
    return false;
  }
  if (name) sqlite3_bind_text(d.s, 1, name->c_str(), -1, SQLITE_TRANSIENT);
  while ((rc = sqlite3_step(d.s)) == SQLITE_ROW) {
    const char* n = reinterpret_cast<const char*>(sqlite3_column_text(d.s, 0));
    const char* r = reinterpret_cast<const char*>(sqlite3_column_text(d.s, 1));
    auto it = n ? out->find(n) : out->end();
    auto idx = r ? ReasonFromName(r) : std::nullopt;
    // A reason this build does not know (a newer module's) stays in the
    // database untouched.
    if (it != out->end() && idx)
      it->second.decisions[*idx] = static_cast<uint64_t>(sqlite3_column_int64(d.s, 2));
  }
  if (rc != SQLITE_DONE) {
    *error = Err(db_);
    return false;
  }
  return true;
}

bool ProfileStore::LoadAll(std::map<std::string, Profile>* out, std::string* error) {
  return Load("", nullptr, out, error);
}

std::optional<Profile> ProfileStore::Load(const std::string& name, std::string* error) {
  std::map<std::string, Profile> one;
  if (!Load(" WHERE name = ?", &name, &one, error)) return std::nullopt;
  auto it = one.find(name);
  if (it == one.end()) {
    *error = "no profile named \"" + name + "\"";
    return std::nullopt;
  }
  return it->second;
}

bool ProfileStore::SaveAll(const std::map<std::string, Profile>& profiles, std::string* error) {
  const std::string sql =
      std::string("INSERT INTO profiles (") + kProfileColumns +
      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
      "windows = excluded.windows, ipc_sum = excluded.ipc_sum, ipc_n = excluded.ipc_n, "
      "exit_rate_sum = excluded.exit_rate_sum, exit_rate_n = excluded.exit_rate_n, "
      "quantum_ns_sum = excluded.quantum_ns_sum, quantum_n = excluded.quantum_n, "
      "updated_unix = excluded.updated_unix";
  if (!Exec("BEGIN", error)) return false;
  Stmt st, dec;
  auto fail = [&] {
    *error = Err(db_);
    std::string ignored;
    Exec("ROLLBACK", &ignored);
    return false;
  };
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) return fail();
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO decisions (name, reason, count) VALUES (?, ?, ?)",
                         -1, &dec.s, nullptr) != SQLITE_OK)
    return fail();
  for (const auto& [name, p] : profiles) {
    sqlite3_reset(st.s);
    sqlite3_bind_text(st.s, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.s, 2, static_cast<sqlite3_int64>(p.windows));
    sqlite3_bind_double(st.s, 3, p.ipc_sum);
    sqlite3_bind_int64(st.s, 4, static_cast<sqlite3_int64>(p.ipc_n));
    sqlite3_bind_double(st.s, 5, p.exit_rate_sum);
    sqlite3_bind_int64(st.s, 6, static_cast<sqlite3_int64>(p.exit_rate_n));
    sqlite3_bind_double(st.s, 7, p.quantum_ns_sum);
    sqlite3_bind_int64(st.s, 8, static_cast<sqlite3_int64>(p.quantum_n));
    sqlite3_bind_int64(st.s, 9, p.updated_unix);
    if (sqlite3_step(st.s) != SQLITE_DONE) return fail();
    for (size_t i = 0; i < kReasons; ++i) {
      if (!p.decisions[i]) continue;
      sqlite3_reset(dec.s);
      sqlite3_bind_text(dec.s, 1, name.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(dec.s, 2, ReasonNames()[i], -1, SQLITE_STATIC);
      sqlite3_bind_int64(dec.s, 3, static_cast<sqlite3_int64>(p.decisions[i]));
      if (sqlite3_step(dec.s) != SQLITE_DONE) return fail();
    }
  }
  return Exec("COMMIT", error);
}

bool ProfileStore::Delete(const std::string& name, std::string* error) {
  for (const char* sql :
       {"DELETE FROM decisions WHERE name = ?", "DELETE FROM profiles WHERE name = ?"}) {
    Stmt st;
    if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) {
      *error = Err(db_);
      return false;
    }
    sqlite3_bind_text(st.s, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st.s) != SQLITE_DONE) {
      *error = Err(db_);
      return false;
    }
  }
  return true;
}

bool ProfileStore::DeleteUnnamed(std::string* error) {
  return Exec(
      "DELETE FROM decisions WHERE name GLOB 'pid-[0-9]*';"
      "DELETE FROM profiles WHERE name GLOB 'pid-[0-9]*'",
      error);
}

bool ProfileStore::QueueImport(const std::string& name, const Profile& p, std::string* error) {
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO imports (name, profile, queued_unix) "
                         "VALUES (?, ?, ?)",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    *error = Err(db_);
    return false;
  }
  const std::string text = ProfileToJson(p).dump();
  sqlite3_bind_text(st.s, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, text.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st.s, 3, static_cast<sqlite3_int64>(time(nullptr)));
  if (sqlite3_step(st.s) != SQLITE_DONE) {
    *error = Err(db_);
    return false;
  }
  return true;
}

bool ProfileStore::TakeImports(std::map<std::string, Profile>* out, std::string* error) {
  if (!Exec("BEGIN IMMEDIATE", error)) return false;
  Stmt st;
  auto fail = [&] {
    *error = Err(db_);
    std::string ignored;
    Exec("ROLLBACK", &ignored);
    return false;
  };
  if (sqlite3_prepare_v2(db_, "SELECT name, profile FROM imports", -1, &st.s, nullptr) != SQLITE_OK)
    return fail();
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    const char* n = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
    const char* t = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 1));
    std::string why;
    // Validated by quantactl before it was queued; a row edited by hand
    // that no longer parses is dropped.
    auto j = nlohmann::json::parse(t ? t : "", nullptr, false);
    if (auto p = ProfileFromJson(j, &why); n && p) (*out)[n] = *p;
  }
  if (rc != SQLITE_DONE) return fail();
  if (!Exec("DELETE FROM imports", error)) return fail();
  return Exec("COMMIT", error);
}

}  // namespace kq
