// SPDX-License-Identifier: GPL-2.0
// kq-nlwatch: watch, dump and configure kvm_quanta's netlink telemetry.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "json.hpp"
#include "kq_nl.hpp"
#include "window.hpp"

namespace {

using kq::nl::Client;
using nlohmann::ordered_json;

constexpr int kUsage = 2;

volatile sig_atomic_t g_stop = 0;

void OnSignal(int) { g_stop = 1; }

int Usage(const std::string& why) {
  std::cerr << "kq-nlwatch: " << why << " (see kq-nlwatch --help)\n";
  return kUsage;
}

std::optional<uint32_t> ParseU32(const std::string& s) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  const uint64_t v = std::stoull(s);
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::unique_ptr<Client> ConnectOrDie() {
  std::string err;
  auto c = Client::Connect(&err);
  if (!c) std::cerr << "kq-nlwatch: " << err << "\n";
  return c;
}

std::string WindowText(const kq::nl::Window& w) {
  return "seq " + std::to_string(w.seq) + " vcpus " + std::to_string(w.vcpus.size()) + "/" +
         std::to_string(w.nr_vcpus) + " messages " + std::to_string(w.messages) + " drops " +
         std::to_string(w.drops) + (w.complete() ? "" : " INCOMPLETE");
}

std::string WindowJson(const kq::nl::Window& w) {
  ordered_json j;
  j["seq"] = w.seq;
  j["time_ns"] = w.time_ns;
  j["nr_vcpus"] = w.nr_vcpus;
  j["received"] = w.vcpus.size();
  j["messages"] = w.messages;
  j["drops"] = w.drops;
  j["complete"] = w.complete();
  j["vcpus"] = ordered_json::array();
  for (const auto& v : w.vcpus) j["vcpus"].push_back(kq::nl::SampleToJson(v));
  return j.dump();
}

int Watch(int seconds, bool json) {
  auto c = ConnectOrDie();
  if (!c) return 1;
  std::string err;
  if (!c->Subscribe(&err)) {
    std::cerr << "kq-nlwatch: " << err << "\n";
    return 1;
  }
  kq::nl::WindowTracker tracker([json](const kq::nl::Window& w) {
    std::cout << (json ? WindowJson(w) : WindowText(w)) << std::endl;
  });
  auto on_msg = [&](const kq::nl::Message& m) { tracker.Add(m); };
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  // After the deadline, wait up to 1 s for the window in flight to finish.
  const auto grace = end + std::chrono::seconds(1);
  while (!g_stop) {
    const auto now = Clock::now();
    if (now >= grace || (now >= end && !tracker.open())) break;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>((now < end ? end : grace) - now);
    if (c->Receive(static_cast<int>(std::min<int64_t>(left.count() + 1, 200)), on_msg, &err) < 0) {
      std::cerr << "kq-nlwatch: " << err << "\n";
      return 1;
    }
  }
  tracker.Flush();

  const kq::nl::WatchStats& st = tracker.stats();
  uint64_t kernel_drops = st.max_drops;
  if (auto cfg = Client::Connect(&err)) {
    if (auto conf = cfg->GetConfig(&err)) kernel_drops = conf->drops;
  }
  if (json) {
    const ordered_json sum = {{"windows", st.windows},
                              {"complete", st.complete},
                              {"incomplete", st.incomplete},
                              {"missed", st.missed},
                              {"first_partial", st.first_partial},
                              {"first_seq", st.first_seq},
                              {"last_seq", st.last_seq},
                              {"distinct_vcpus", st.vcpus.size()},
                              {"kernel_drops", kernel_drops},
                              {"enobufs", c->enobufs()}};
    std::cout << ordered_json{{"summary", sum}}.dump() << std::endl;
  } else {
    std::cout << "summary: windows " << st.windows << " complete " << st.complete << " incomplete "
              << st.incomplete << " missed " << st.missed << " distinct vcpus " << st.vcpus.size()
              << " kernel drops " << kernel_drops << " enobufs " << c->enobufs() << std::endl;
  }
  return 0;
}

int Dump(bool json) {
  auto c = ConnectOrDie();
  if (!c) return 1;
  std::string err;
  auto vcpus = c->DumpState(&err);
  if (!vcpus) {
    std::cerr << "kq-nlwatch: GET_STATE: " << err << "\n";
    return 1;
  }
  if (json) {
    ordered_json j;
    j["nr_vcpus"] = vcpus->size();
    j["vcpus"] = ordered_json::array();
    for (const auto& v : *vcpus) j["vcpus"].push_back(kq::nl::SampleToJson(v));
    std::cout << j.dump() << std::endl;
    return 0;
  }
  for (const auto& v : *vcpus) {
    std::cout << "vm " << v.vm_id << " pid " << v.pid << " vcpu " << v.vcpu_idx << " tid " << v.tid
              << " exits " << v.exits.value_or(0) << " window_ns " << v.window_ns.value_or(0);
    if (v.exit_rate_milli) std::cout << " exit_rate_milli " << *v.exit_rate_milli;
    if (v.mean_run_ns) std::cout << " mean_run_ns " << *v.mean_run_ns;
    std::cout << "\n";
  }
  std::cout << vcpus->size() << " vcpus" << std::endl;
  return 0;
}

int Config(bool json) {
  auto c = ConnectOrDie();
  if (!c) return 1;
  std::string err;
  auto conf = c->GetConfig(&err);
  if (!conf) {
    std::cerr << "kq-nlwatch: GET_CONFIG: " << err << "\n";
    return 1;
  }
  if (json) {
    std::cout << ordered_json{{"interval_ms", conf->interval_ms},
                              {"mode", kq::nl::ModeName(conf->mode)},
                              {"drops", conf->drops}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "interval_ms " << conf->interval_ms << "\nmode " << kq::nl::ModeName(conf->mode)
              << "\ndrops " << conf->drops << std::endl;
  }
  return 0;
}

int Set(const std::vector<std::string>& args) {
  std::optional<uint32_t> interval, mode;
  for (const std::string& a : args) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos) return Usage("set: expected KEY=VALUE, got '" + a + "'");
    const std::string key = a.substr(0, eq), value = a.substr(eq + 1);
    if (key == "interval") {
      if (interval) return Usage("set: interval given twice");
      interval = ParseU32(value);
      if (!interval) return Usage("set: interval '" + value + "' is not a number of ms");
    } else if (key == "mode") {
      if (mode) return Usage("set: mode given twice");
      if (value == "observe")
        mode = kq::nl::kModeObserve;
      else if (value == "enforce")
        mode = kq::nl::kModeEnforce;
      else
        mode = ParseU32(value);  // numbers go to the kernel as they are
      if (!mode) return Usage("set: mode '" + value + "': observe, enforce or a number");
    } else {
      return Usage("set: unknown key '" + key + "'");
    }
  }
  // Nothing to set is sent as is: the kernel says why it refuses it.
  auto c = ConnectOrDie();
  if (!c) return 1;
  std::string err;
  if (!c->SetConfig(interval, mode, &err)) {
    std::cerr << "kq-nlwatch: SET_CONFIG refused: " << err << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "kq-nlwatch: watch, dump and configure kvm_quanta's netlink telemetry\n"
      "exit: 0 ok, 1 error or refused by the kernel (message on stderr), 2 usage"};
  app.require_subcommand(1);
  bool json = false;
  app.add_flag("--json", json, "JSON output");
  app.fallthrough();
  int seconds = 0;
  auto* watch = app.add_subcommand("watch", "print every window as it arrives, then a summary");
  watch->add_option("--seconds", seconds, "how long")->required()->check(CLI::Range(1, 86400));
  auto* dump = app.add_subcommand("dump", "the latest sample of every vCPU (GET_STATE)");
  auto* config = app.add_subcommand("config", "the telemetry configuration (GET_CONFIG)");
  std::vector<std::string> kv;
  auto* set = app.add_subcommand(
      "set",
      "change the configuration (SET_CONFIG): interval=MS, mode=observe|enforce|N; "
      "nothing given is sent as is, for the kernel to refuse");
  set->add_option("KEY=VALUE", kv, "settings");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  if (*set) return Set(kv);
  if (*watch) {
    struct sigaction sa = {};
    sa.sa_handler = OnSignal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    return Watch(seconds, json);
  }
  if (*dump) return Dump(json);
  if (*config) return Config(json);
  return kUsage;
}
