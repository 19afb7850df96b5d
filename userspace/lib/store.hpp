// SPDX-License-Identifier: GPL-2.0
// The profiles, keyed by VM name, in an SQLite database with a versioned
// schema (PRAGMA user_version): older layouts are migrated when opened, a
// corrupt file is moved aside and a fresh one started, a newer layout is
// refused without being touched.  Profiles imported by `quantactl profile
// import` wait in their own table until the daemon takes them.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "profile.hpp"

struct sqlite3;

namespace kq {

class ProfileStore {
 public:
  // The layout this build writes.  0: the unversioned first layout (one
  // d_<reason> column per decision reason); 2: decisions by reason name in
  // their own table, pending imports.
  static constexpr int kSchemaVersion = 2;

  ~ProfileStore();
  ProfileStore(const ProfileStore&) = delete;
  ProfileStore& operator=(const ProfileStore&) = delete;

  // Opens, creating the file and the schema or migrating an older schema.
  // A file that is not a usable database (not SQLite, corrupt) is renamed
  // to PATH.corrupt-<unix time> and a fresh database created; *note then
  // says so, for the log.  A schema newer than kSchemaVersion fails.
  static std::unique_ptr<ProfileStore> Open(const std::string& path, std::string* error,
                                            std::string* note = nullptr);
  bool LoadAll(std::map<std::string, Profile>* out, std::string* error);
  std::optional<Profile> Load(const std::string& name, std::string* error);
  // Upserts every profile in one transaction.
  bool SaveAll(const std::map<std::string, Profile>& profiles, std::string* error);
  bool Delete(const std::string& name, std::string* error);
  // Removes the profiles of unnamed VMs ("pid-N"): their pid means nothing
  // once the VM is gone.
  bool DeleteUnnamed(std::string* error);

  // An imported profile, replacing the daemon's at its next save.
  bool QueueImport(const std::string& name, const Profile& p, std::string* error);
  // Takes (and removes) the queued imports.
  bool TakeImports(std::map<std::string, Profile>* out, std::string* error);

 private:
  ProfileStore() = default;
  bool Exec(const std::string& sql, std::string* error);
  bool Prepare(std::string* error);
  bool Load(const char* where, const std::string* name, std::map<std::string, Profile>* out,
            std::string* error);
  sqlite3* db_ = nullptr;
};

}  // namespace kq
