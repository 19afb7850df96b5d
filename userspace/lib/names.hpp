// SPDX-License-Identifier: GPL-2.0
// Names of the module's enums, taken from src/core (compiled into this
// library) so that the module, its tracepoints, sysfs and the tools spell
// them one way.
#pragma once

#include <linux/kvm_quanta.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kq {

inline constexpr size_t kReasons = KVM_QUANTA_R_NR;
// Index = enum kvm_quanta_reason: "base", "warm", ... (kq_reason_name()).
const std::array<const char*, kReasons>& ReasonNames();
std::optional<uint32_t> ReasonFromName(std::string_view name);

}  // namespace kq
