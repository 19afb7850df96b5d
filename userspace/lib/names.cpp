// SPDX-License-Identifier: GPL-2.0
#include "names.hpp"

extern "C" {
#include "policy.h"
}

namespace kq {

const std::array<const char*, kReasons>& ReasonNames() {
  static const std::array<const char*, kReasons> names = [] {
    std::array<const char*, kReasons> n{};
    for (size_t i = 0; i < kReasons; ++i) n[i] = kq_reason_name(static_cast<unsigned>(i));
    return n;
  }();
  return names;
}

std::optional<uint32_t> ReasonFromName(std::string_view name) {
  for (size_t i = 0; i < kReasons; ++i)
    if (name == ReasonNames()[i]) return static_cast<uint32_t>(i);
  return std::nullopt;
}

}  // namespace kq
