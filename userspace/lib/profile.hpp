// SPDX-License-Identifier: GPL-2.0
// A VM's long-term profile (kept per VM name, across restarts, in SQLite)
// and the slow history adjustment of its base quantum computed from it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "knobs.hpp"
#include "names.hpp"

namespace kq {

struct Profile {
  uint64_t windows = 0;  // vCPU windows (one per vCPU sample)
  double ipc_sum = 0;    // sums of the per-window values present
  uint64_t ipc_n = 0;
  double exit_rate_sum = 0;  // exits per ms of guest time
  uint64_t exit_rate_n = 0;
  double quantum_ns_sum = 0;
  uint64_t quantum_n = 0;
  std::array<uint64_t, kReasons> decisions{};  // by enum kvm_quanta_reason
  int64_t updated_unix = 0;

  std::optional<double> mean_ipc() const;
  std::optional<double> mean_exit_rate() const;  // exits/ms
  std::optional<double> mean_quantum_ns() const;
  uint64_t total_decisions() const;
  bool operator==(const Profile&) const = default;
};

struct HistoryParams {
  uint32_t max_pct = 20;
  uint64_t min_windows = 600;
  // Exit rate (exits per ms of guest time) at or below which a VM counts as
  // compute-heavy (+1) and at or above which as exit-heavy (-1).
  double compute_exit_rate = 1.0;
  double heavy_exit_rate = 20.0;
  // Mean IPC below which a low exit rate is not taken as warm.
  double min_warm_ipc = 0.5;
};

// The history rule, a pure function.  Returns the adjustment of the base
// quantum in percent, within [-max_pct, +max_pct]:
//  * 0 until the profile holds min_windows vCPU windows;
//  * with policy decisions recorded: score = (warm - exit_heavy) / all
//    decisions, in [-1, 1];
//  * otherwise from the mean exit rate r: +1 at r <= compute_exit_rate,
//    -1 at r >= heavy_exit_rate, linear in between; a positive score
//    becomes 0 when the mean IPC is known and below min_warm_ipc (a
//    stalled VM is not warm);
//  * pct = round(score * max_pct).
int HistoryAdjustPct(const Profile& p, const HistoryParams& h);

// A profile as JSON (the body of `quantactl profile export`):
// {"windows":N,"ipc_sum":X,"ipc_n":N,"exit_rate_sum":X,"exit_rate_n":N,
//  "quantum_ns_sum":X,"quantum_n":N,"decisions":{"<reason>":N,...},
//  "updated_unix":N}; decisions by the reason names of the uapi header.
nlohmann::ordered_json ProfileToJson(const Profile& p);
// The inverse, total: every key required and known, counts unsigned
// integers that fit the database (< 2^63), sums finite and not negative,
// a sum only with a count, no count above windows.  nullopt and *error
// ("KEY: reason") otherwise.
std::optional<Profile> ProfileFromJson(const nlohmann::json& j, std::string* error);

}  // namespace kq
