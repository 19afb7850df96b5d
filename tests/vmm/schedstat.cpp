#include "schedstat.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

namespace kq {

std::optional<SchedStat> ParseSchedstat(std::string_view text) {
  uint64_t values[3];
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (uint64_t& v : values) {
    while (p < end && *p == ' ') ++p;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || next == p) return std::nullopt;
    p = next;
  }
  while (p < end && (*p == ' ' || *p == '\n')) ++p;
  if (p != end) return std::nullopt;
  return SchedStat{values[0], values[1], values[2]};
}

std::optional<SchedStat> ReadThreadSchedstat(pid_t tid, std::string* error) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/schedstat";
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open " + path;
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto stat = ParseSchedstat(ss.str());
  if (!stat) *error = "malformed " + path + ": '" + ss.str() + "'";
  return stat;
}

}  // namespace kq
