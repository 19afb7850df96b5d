// /proc/<pid>/task/<tid>/schedstat: "run_ns wait_ns timeslices".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kq {

struct SchedStat {
  uint64_t run_ns = 0;
  uint64_t wait_ns = 0;
  uint64_t timeslices = 0;
};

std::optional<SchedStat> ParseSchedstat(std::string_view text);

// Reads /proc/self/task/TID/schedstat. nullopt (and *error) when missing or malformed.
std::optional<SchedStat> ReadThreadSchedstat(pid_t tid, std::string* error);

}  // namespace kq
