// SPDX-License-Identifier: GPL-2.0
// The profiles, keyed by VM name, in an SQLite database.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "profile.hpp"

struct sqlite3;

namespace kq::quantad {

class ProfileStore {
 public:
  ~ProfileStore();
  ProfileStore(const ProfileStore&) = delete;
  ProfileStore& operator=(const ProfileStore&) = delete;

  // Opens (creating the file and the schema if needed).
  static std::unique_ptr<ProfileStore> Open(const std::string& path, std::string* error);
  bool LoadAll(std::map<std::string, Profile>* out, std::string* error);
  // Upserts every profile in one transaction.
  bool SaveAll(const std::map<std::string, Profile>& profiles, std::string* error);

 private:
  ProfileStore() = default;
  bool Exec(const char* sql, std::string* error);
  sqlite3* db_ = nullptr;
};

}  // namespace kq::quantad
