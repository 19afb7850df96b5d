#include "json_report.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "percentile.hpp"

namespace kq {
namespace {

std::string Quote(std::string_view s) { return "\"" + JsonEscape(s) + "\""; }

std::string Field(std::string_view key, uint64_t value) {
  return Quote(key) + ":" + std::to_string(value);
}

std::string UsField(std::string_view key, const std::optional<int64_t>& ns) {
  return Quote(key) + ":" + (ns ? TenthsOfUs(*ns) : std::string("null"));
}

std::string LatencyToJson(const IrqLatency& l) {
  const LatencySummary s = Summarize(l.samples_ns);
  std::string out = "{" + Field("count", s.count) + "," + Field("missed", l.missed) + ",";
  out += UsField("p50_us", s.p50) + "," + UsField("p99_us", s.p99) + "," +
         UsField("p999_us", s.p999) + "," + UsField("max_us", s.max) + "," +
         UsField("mean_us", s.mean) + ",";
  out += Quote("samples_us") + ":[";
  for (size_t i = 0; i < l.samples_ns.size(); ++i) {
    if (i > 0) out += ",";
    out += TenthsOfUs(l.samples_ns[i]);
  }
  return out + "]}";
}

std::string VcpuToJson(const VcpuReport& v) {
  const ExitCounts& e = v.exits;
  std::string out = "{";
  out += Field("index", static_cast<uint64_t>(v.index)) + ",";
  out += Field("tid", static_cast<uint64_t>(v.tid)) + ",";
  out += Quote("program") + ":" + Quote(v.program) + ",";
  out += Quote("userspace_exits") + ":{" + Field("io", e.io) + "," + Field("hlt", e.hlt) + "," +
         Field("total", e.io + e.hlt) + "},";
  out += Quote("io_by_port") + ":{" + Field("data", e.io_data) + "," + Field("done", e.io_done) +
         "," + Field("tick", e.io_tick);
  if (v.latency) out += "," + Field("answer", e.io_answer);  // irq only: others stay as they were
  out += "},";
  out += Field("guest_iterations", v.guest_iterations) + ",";
  out += Field("run_ms", v.run_ms) + ",";
  out += Field("kvm_run_calls", v.kvm_run_calls) + ",";
  out += Field("kvm_run_retries", v.kvm_run_retries) + ",";
  out += Quote("schedstat") + ":{" + Field("run_ns", v.schedstat.run_ns) + "," +
         Field("wait_ns", v.schedstat.wait_ns) + "," + Field("timeslices", v.schedstat.timeslices) +
         "}";
  // Only in the modes that produce them, so the common report stays as it was.
  if (v.first_tid != 0) out += "," + Field("first_tid", static_cast<uint64_t>(v.first_tid));
  if (v.closed) out += "," + Quote("closed") + ":true";
  if (e.duty_sleeps != 0) out += "," + Field("duty_sleeps", e.duty_sleeps);
  if (v.latency) out += "," + Quote("latency") + ":" + LatencyToJson(*v.latency);
  return out + "}";
}

}  // namespace

std::string TenthsOfUs(int64_t ns) {
  const bool negative = ns < 0;
  const uint64_t mag = negative ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  const uint64_t tenths = (mag + 50) / 100;
  return (negative && tenths != 0 ? "-" : "") + std::to_string(tenths / 10) + "." +
         std::to_string(tenths % 10);
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string ReportToJson(const Report& report) {
  std::string out =
      "{" + Field("pid", static_cast<uint64_t>(report.pid)) + "," + Quote("vms") + ":[";
  for (size_t i = 0; i < report.vms.size(); ++i) {
    const VmReport& vm = report.vms[i];
    if (i > 0) out += ",";
    out += "{" + Field("index", static_cast<uint64_t>(vm.index)) + "," + Quote("vcpus") + ":[";
    for (size_t j = 0; j < vm.vcpus.size(); ++j) {
      if (j > 0) out += ",";
      out += VcpuToJson(vm.vcpus[j]);
    }
    out += "]}";
  }
  return out + "]}";
}

bool WriteFileAtomically(const std::string& path, const std::string& content, std::string* error) {
  const std::string tmp = path + ".tmp";
  FILE* f = fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    *error = "open " + tmp + ": " + strerror(errno);
    return false;
  }
  const bool wrote = fwrite(content.data(), 1, content.size(), f) == content.size();
  const int saved = errno;
  if (fclose(f) != 0 || !wrote) {
    *error = "write " + tmp + ": " + strerror(wrote ? errno : saved);
    remove(tmp.c_str());
    return false;
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "rename " + tmp + " -> " + path + ": " + strerror(errno);
    remove(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace kq
