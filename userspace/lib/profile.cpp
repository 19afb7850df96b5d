// SPDX-License-Identifier: GPL-2.0
#include "profile.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace kq {

std::optional<double> Profile::mean_ipc() const {
  if (!ipc_n) return std::nullopt;
  return ipc_sum / static_cast<double>(ipc_n);
}

std::optional<double> Profile::mean_exit_rate() const {
  if (!exit_rate_n) return std::nullopt;
  return exit_rate_sum / static_cast<double>(exit_rate_n);
}

std::optional<double> Profile::mean_quantum_ns() const {
  if (!quantum_n) return std::nullopt;
  return quantum_ns_sum / static_cast<double>(quantum_n);
}

uint64_t Profile::total_decisions() const {
  uint64_t n = 0;
  for (uint64_t d : decisions) n += d;
  return n;
}

int HistoryAdjustPct(const Profile& p, const HistoryParams& h) {
  if (h.max_pct == 0 || p.windows < h.min_windows) return 0;
  double score = 0;
  if (const uint64_t total = p.total_decisions(); total > 0) {
    score = (static_cast<double>(p.decisions[KVM_QUANTA_R_WARM]) -
             static_cast<double>(p.decisions[KVM_QUANTA_R_EXIT_HEAVY])) /
            static_cast<double>(total);
  } else if (auto r = p.mean_exit_rate()) {
    if (*r <= h.compute_exit_rate)
      score = 1;
    else if (*r >= h.heavy_exit_rate)
      score = -1;
    else
      score = 1 - 2 * (*r - h.compute_exit_rate) / (h.heavy_exit_rate - h.compute_exit_rate);
    if (auto ipc = p.mean_ipc(); score > 0 && ipc && *ipc < h.min_warm_ipc) score = 0;
  } else {
    return 0;
  }
  score = std::clamp(score, -1.0, 1.0);
  const int max = static_cast<int>(h.max_pct);
  return std::clamp(static_cast<int>(std::lround(score * max)), -max, max);
}

nlohmann::ordered_json ProfileToJson(const Profile& p) {
  nlohmann::ordered_json j;
  j["windows"] = p.windows;
  j["ipc_sum"] = p.ipc_sum;
  j["ipc_n"] = p.ipc_n;
  j["exit_rate_sum"] = p.exit_rate_sum;
  j["exit_rate_n"] = p.exit_rate_n;
  j["quantum_ns_sum"] = p.quantum_ns_sum;
  j["quantum_n"] = p.quantum_n;
  nlohmann::ordered_json d = nlohmann::ordered_json::object();
  for (size_t i = 0; i < kReasons; ++i) d[ReasonNames()[i]] = p.decisions[i];
  j["decisions"] = d;
  j["updated_unix"] = p.updated_unix;
  return j;
}

namespace {

constexpr uint64_t kMaxCount = INT64_MAX;  // SQLite integers are signed 64-bit

bool Count(const nlohmann::json& j, const char* key, uint64_t* out, std::string* error) {
  auto it = j.find(key);
  if (it == j.end()) {
    *error = std::string(key) + ": missing";
    return false;
  }
  if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
    *error = std::string(key) + ": not an unsigned integer";
    return false;
  }
  if (it->get<uint64_t>() > kMaxCount) {
    *error = std::string(key) + ": too large";
    return false;
  }
  *out = it->get<uint64_t>();
  return true;
}

bool Sum(const nlohmann::json& j, const char* key, double* out, std::string* error) {
  auto it = j.find(key);
  if (it == j.end()) {
    *error = std::string(key) + ": missing";
    return false;
  }
  if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() < 0) {
    *error = std::string(key) + ": not a finite number >= 0";
    return false;
  }
  *out = it->get<double>();
  return true;
}

}  // namespace

std::optional<Profile> ProfileFromJson(const nlohmann::json& j, std::string* error) {
  if (!j.is_object()) {
    *error = "profile: not an object";
    return std::nullopt;
  }
  static const char* const kKeys[] = {"windows",       "ipc_sum",     "ipc_n",
                                      "exit_rate_sum", "exit_rate_n", "quantum_ns_sum",
                                      "quantum_n",     "decisions",   "updated_unix"};
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for (const char* key : kKeys) known |= k == key;
    if (!known) {
      *error = k + ": unknown key";
      return std::nullopt;
    }
  }
  Profile p;
  uint64_t updated = 0;
  if (!Count(j, "windows", &p.windows, error) || !Sum(j, "ipc_sum", &p.ipc_sum, error) ||
      !Count(j, "ipc_n", &p.ipc_n, error) || !Sum(j, "exit_rate_sum", &p.exit_rate_sum, error) ||
      !Count(j, "exit_rate_n", &p.exit_rate_n, error) ||
      !Sum(j, "quantum_ns_sum", &p.quantum_ns_sum, error) ||
      !Count(j, "quantum_n", &p.quantum_n, error) || !Count(j, "updated_unix", &updated, error))
    return std::nullopt;
  p.updated_unix = static_cast<int64_t>(updated);
  const struct {
    const char* n_key;
    const char* sum_key;
    uint64_t n;
    double sum;
  } pairs[] = {{"ipc_n", "ipc_sum", p.ipc_n, p.ipc_sum},
               {"exit_rate_n", "exit_rate_sum", p.exit_rate_n, p.exit_rate_sum},
               {"quantum_n", "quantum_ns_sum", p.quantum_n, p.quantum_ns_sum}};
  for (const auto& x : pairs) {
    if (x.n > p.windows) {
      *error = std::string(x.n_key) + ": " + std::to_string(x.n) + " is more than windows (" +
               std::to_string(p.windows) + ")";
      return std::nullopt;
    }
    if (x.n == 0 && x.sum != 0) {
      *error = std::string(x.sum_key) + ": not 0 while " + x.n_key + " is 0";
      return std::nullopt;
    }
  }
  auto d = j.find("decisions");
  if (d == j.end() || !d->is_object()) {
    *error = "decisions: missing or not an object";
    return std::nullopt;
  }
  for (const auto& [k, v] : d->items()) {
    auto r = ReasonFromName(k);
    if (!r) {
      *error = "decisions: unknown reason \"" + k + "\"";
      return std::nullopt;
    }
    std::string why;
    if (!Count(*d, k.c_str(), &p.decisions[*r], &why)) {
      *error = "decisions." + why;
      return std::nullopt;
    }
  }
  return p;
}

}  // namespace kq
