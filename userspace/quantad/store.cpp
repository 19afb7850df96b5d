// SPDX-License-Identifier: GPL-2.0
#include "store.hpp"

#include <sqlite3.h>

namespace kq::quantad {
namespace {

// One column per reason: d_base, d_warm, ... (enum kvm_quanta_reason order).
std::string DecisionColumns(const char* sep, const char* suffix) {
  std::string s;
  for (size_t i = 0; i < kReasons; ++i) {
    if (i) s += sep;
    s += std::string("d_") + kReasonNames[i] + suffix;
  }
  return s;
}

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

}  // namespace

ProfileStore::~ProfileStore() { sqlite3_close(db_); }

bool ProfileStore::Exec(const char* sql, std::string* error) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    *error = std::string("sqlite: ") + (msg ? msg : "error");
    sqlite3_free(msg);
    return false;
  }
  return true;
}

std::unique_ptr<ProfileStore> ProfileStore::Open(const std::string& path, std::string* error) {
  std::unique_ptr<ProfileStore> st(new ProfileStore());
  if (sqlite3_open_v2(path.c_str(), &st->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    *error = path + ": " + (st->db_ ? sqlite3_errmsg(st->db_) : "cannot open");
    return nullptr;
  }
  sqlite3_busy_timeout(st->db_, 2000);
  const std::string schema =
      "CREATE TABLE IF NOT EXISTS profiles (name TEXT PRIMARY KEY, windows INTEGER NOT NULL, "
      "ipc_sum REAL NOT NULL, ipc_n INTEGER NOT NULL, exit_rate_sum REAL NOT NULL, "
      "exit_rate_n INTEGER NOT NULL, quantum_ns_sum REAL NOT NULL, quantum_n INTEGER NOT NULL, " +
      DecisionColumns(", ", " INTEGER NOT NULL DEFAULT 0") +
      ", updated_unix INTEGER NOT NULL);"
      "CREATE VIEW IF NOT EXISTS profile_summary AS SELECT name, windows, "
      "CASE WHEN ipc_n > 0 THEN ipc_sum / ipc_n END AS mean_ipc, "
      "CASE WHEN exit_rate_n > 0 THEN exit_rate_sum / exit_rate_n END AS exits_per_ms, "
      "CASE WHEN quantum_n > 0 THEN quantum_ns_sum / quantum_n END AS mean_quantum_ns, " +
      DecisionColumns(", ", "") + ", updated_unix FROM profiles;";
  if (!st->Exec(schema.c_str(), error)) {
    *error = path + ": " + *error;
    return nullptr;
  }
  return st;
}

bool ProfileStore::LoadAll(std::map<std::string, Profile>* out, std::string* error) {
  const std::string sql =
      "SELECT name, windows, ipc_sum, ipc_n, exit_rate_sum, exit_rate_n, quantum_ns_sum, "
      "quantum_n, " +
      DecisionColumns(", ", "") + ", updated_unix FROM profiles";
  Stmt st;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
    *error = std::string("sqlite: ") + sqlite3_errmsg(db_);
    return false;
  }
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    Profile p;
    const char* name = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 0));
    p.windows = static_cast<uint64_t>(sqlite3_column_int64(st.s, 1));
    p.ipc_sum = sqlite3_column_double(st.s, 2);
    p.ipc_n = static_cast<uint64_t>(sqlite3_column_int64(st.s, 3));
    p.exit_rate_sum = sqlite3_column_double(st.s, 4);
    p.exit_rate_n = static_cast<uint64_t>(sqlite3_column_int64(st.s, 5));
    p.quantum_ns_sum = sqlite3_column_double(st.s, 6);
    p.quantum_n = static_cast<uint64_t>(sqlite3_column_int64(st.s, 7));
    for (size_t i = 0; i < kReasons; ++i)
      p.decisions[i] = static_cast<uint64_t>(sqlite3_column_int64(st.s, 8 + static_cast<int>(i)));
    p.updated_unix = sqlite3_column_int64(st.s, 8 + static_cast<int>(kReasons));
    if (name) (*out)[name] = p;
  }
  if (rc != SQLITE_DONE) {
    *error = std::string("sqlite: ") + sqlite3_errmsg(db_);
    return false;
  }
  return true;
}

bool ProfileStore::SaveAll(const std::map<std::string, Profile>& profiles, std::string* error) {
  std::string placeholders;
  for (size_t i = 0; i < kReasons; ++i) placeholders += ", ?";
  const std::string sql =
      "INSERT OR REPLACE INTO profiles (name, windows, ipc_sum, ipc_n, exit_rate_sum, "
      "exit_rate_n, quantum_ns_sum, quantum_n, " +
      DecisionColumns(", ", "") + ", updated_unix) VALUES (?, ?, ?, ?, ?, ?, ?, ?" + placeholders +
      ", ?)";
  if (!Exec("BEGIN", error)) return false;
  Stmt st;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
    *error = std::string("sqlite: ") + sqlite3_errmsg(db_);
    Exec("ROLLBACK", error);
    return false;
  }
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
    for (size_t i = 0; i < kReasons; ++i)
      sqlite3_bind_int64(st.s, 9 + static_cast<int>(i), static_cast<sqlite3_int64>(p.decisions[i]));
    sqlite3_bind_int64(st.s, 9 + static_cast<int>(kReasons), p.updated_unix);
    if (sqlite3_step(st.s) != SQLITE_DONE) {
      *error = std::string("sqlite: ") + sqlite3_errmsg(db_);
      std::string ignored;
      Exec("ROLLBACK", &ignored);
      return false;
    }
  }
  return Exec("COMMIT", error);
}

}  // namespace kq::quantad
