// SPDX-License-Identifier: GPL-2.0
// JSON text for kvm_quanta samples (absent values are left out).
#pragma once

#include <string>

#include "kq_nl.hpp"

namespace kq::nl {

// {"vm_id":..,"pid":..,"vcpu_idx":..,"tid":..,"cpu":..,"window_ns":..,
//  "exit_kinds":{"io":..,...},"pmu":{"cycles":N|null,...},...}
std::string VcpuJson(const VcpuSample& v);

}  // namespace kq::nl
