// SPDX-License-Identifier: GPL-2.0
// kvm_quanta samples as JSON (nlohmann), both ways: kq-nlwatch prints them,
// quantactl records and replays them.  Absent values are left out.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kq_nl.hpp"

namespace kq::nl {

// An unsigned integer that fits T; nullopt for any other JSON value
// (negative, fractional, too large, not a number).
template <typename T>
std::optional<T> JsonUnsigned(const nlohmann::json& v) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    return std::nullopt;
  const uint64_t u = v.get<uint64_t>();
  if (u > std::numeric_limits<T>::max()) return std::nullopt;
  return static_cast<T>(u);
}

// An optional unsigned field of j; false if present and not a T.
template <typename T>
bool JsonGet(const nlohmann::json& j, const char* key, std::optional<T>* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  *out = JsonUnsigned<T>(*it);
  return out->has_value();
}

// {"vm_id":..,"pid":..,"vcpu_idx":..,"tid":..,"cpu":..,"window_ns":..,
//  "exit_kinds":{"io":..,...},"pmu":{"cycles":N|null,...},...,
//  "target_ns":..,"reason":"warm","debt_ns":..,"decisions":{"base":..,...},
//  "guest_ns_by_cpu":[{"cpu":..,"ns":..},...]}
nlohmann::ordered_json SampleToJson(const VcpuSample& v);
// The inverse; nullopt (and *error) when the identity is missing or a value
// has the wrong type or range.
std::optional<VcpuSample> SampleFromJson(const nlohmann::json& j, std::string* error);

}  // namespace kq::nl
