// SPDX-License-Identifier: GPL-2.0
// kq-bpfquanta: achieved quanta of the given threads over N seconds,
// measured by the vcpu_quanta BPF program at sched_switch.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "quanta_tracer.hpp"

namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

void PrintText(uint32_t tid, const kq::bpfq::TidQuanta& q) {
  std::printf("tid %u: %llu quanta, total %.3f ms, mean %s ms, max %.3f ms\n", tid,
              static_cast<unsigned long long>(q.count), q.total_ns / 1e6,
              q.mean_ns() ? std::to_string(*q.mean_ns() / 1e6).c_str() : "-", q.max_ns / 1e6);
  uint64_t peak = 0;
  for (uint64_t c : q.hist) peak = std::max(peak, c);
  for (size_t b = 0; b < kq::bpfq::kBuckets; ++b) {
    if (q.hist[b] == 0) continue;
    const int bar = static_cast<int>(q.hist[b] * 40 / peak);
    std::printf("  [%5s, %5s) %8llu |%-40s|\n", kq::bpfq::BucketLabel(b).c_str(),
                kq::bpfq::BucketLabel(b + 1).c_str(), static_cast<unsigned long long>(q.hist[b]),
                std::string(static_cast<size_t>(bar), '@').c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "kq-bpfquanta: achieved quanta (switch-in to switch-out) of the given threads, measured "
      "in the kernel at sched_switch by a BPF program.  Needs root (CAP_BPF, CAP_PERFMON).  "
      "Prints \"attached\" on stderr once measuring.  Exit: 0 ok, 1 error, 2 usage."};
  std::string tids_arg;
  unsigned seconds = 0;
  bool json = false;
  app.add_option("--tids", tids_arg, "comma-separated thread ids")->required();
  app.add_option("--seconds", seconds, "how long to measure")
      ->required()
      ->check(CLI::Range(1u, 86400u));
  app.add_flag("--json", json, "one JSON document");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  std::vector<uint32_t> tids;
  std::string err;
  if (!kq::bpfq::ParseTidList(tids_arg, &tids, &err)) {
    std::cerr << "kq-bpfquanta: --tids: " << err << "\n";
    return 2;
  }
  auto tracer = kq::bpfq::QuantaTracer::Open(&err);
  if (!tracer) {
    std::cerr << "kq-bpfquanta: " << err << "\n";
    return 1;
  }
  for (uint32_t tid : tids) {
    if (!tracer->AddTid(tid, &err)) {
      std::cerr << "kq-bpfquanta: " << err << "\n";
      return 1;
    }
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  std::cerr << "attached" << std::endl;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  while (!g_stop && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto all = tracer->ReadAll();
  if (json) {
    std::string out = "{\"seconds\":" + std::to_string(elapsed) + ",\"tids\":[";
    bool first = true;
    for (uint32_t tid : tids) {
      auto it = all.find(tid);
      if (!first) out += ",";
      first = false;
      out += kq::bpfq::TidQuantaJson(tid, it == all.end() ? kq::bpfq::TidQuanta{} : it->second);
    }
    std::cout << out << "]}\n";
  } else {
    std::printf("measured %.2f s\n", elapsed);
    for (uint32_t tid : tids) {
      auto it = all.find(tid);
      PrintText(tid, it == all.end() ? kq::bpfq::TidQuanta{} : it->second);
    }
  }
  return 0;
}
