// SPDX-License-Identifier: GPL-2.0
// quantactl: look at and tune kvm_quanta.  Exit: 0 ok, 1 operational error,
// 2 usage error.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "knobs.hpp"
#include "kq_nl.hpp"
#include "kq_version.hpp"
#include "recording.hpp"
#include "status.hpp"
#include "sysfs.hpp"
#include "window.hpp"

namespace {

using namespace kq::ctl;
using nlohmann::ordered_json;

constexpr int kOk = 0, kError = 1, kUsage = 2;

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Options {
  std::string sysfs = kDefaultSysfsRoot;
  bool json = false;
};

int Fail(const std::string& msg, int code = kError) {
  std::cerr << "quantactl: " << msg << "\n";
  return code;
}

// Client::Connect's error already says whether the module is loaded.
std::unique_ptr<kq::nl::Client> Connect(std::string* error) {
  auto c = kq::nl::Client::Connect(error);
  if (!c) *error = "netlink: " + *error;
  return c;
}

// ---------------------------------------------------------------- status
int CmdStatus(const Options& o, bool once) {
  const Sysfs sys(o.sysfs);
  std::string err;
  auto client = Connect(&err);
  if (!client) return Fail(err);
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  const bool live = !once && !o.json && isatty(STDOUT_FILENO);
  while (true) {
    auto samples = client->DumpState(&err);
    if (!samples) return Fail("GET_STATE: " + err);
    const Status s = BuildStatus(sys, *samples);
    if (o.json) {
      std::cout << StatusJson(s).dump() << "\n";
      return kOk;
    }
    if (live) std::cout << "\033[H\033[2J";
    std::cout << FormatStatusTable(s) << std::flush;
    if (once) return kOk;
    for (int i = 0; i < 50 && !g_stop; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (g_stop) return kOk;
    if (!live) std::cout << "\n";
  }
}

// ---------------------------------------------------------------- show
void PrintTree(const ordered_json& j, int depth, std::string* out) {
  const std::string ind(static_cast<size_t>(depth) * 2, ' ');
  for (const auto& [k, v] : j.items()) {
    if (v.is_object() && !v.empty() && v.begin()->is_object()) {
      *out += ind + k + "/\n";
      PrintTree(v, depth + 1, out);
    } else if (v.is_object()) {
      // A directory of files, or a "<name> <count>" file: SysfsValue gives
      // plain files signed numbers, the counts of such a file unsigned ones.
      bool dir = false;
      for (const auto& [ck, cv] : v.items()) dir = dir || !cv.is_number_unsigned();
      *out += ind + k + (dir ? "/" : ":") + "\n";
      if (dir) {
        PrintTree(v, depth + 1, out);
      } else {
        for (const auto& [ck, cv] : v.items()) {
          *out += ind + "  " + ck + " " + cv.dump() + "\n";
        }
      }
    } else {
      *out += ind + k + ": " +
              (v.is_null()     ? std::string("none")
               : v.is_string() ? v.get<std::string>()
                               : v.dump()) +
              "\n";
    }
  }
}

int CmdShow(const Options& o, const std::string& vm_arg) {
  const Sysfs sys(o.sysfs);
  std::string err;
  auto vm = sys.ResolveVm(vm_arg, &err);
  if (!vm) return Fail(err);
  ordered_json tree = sys.VmTree(*vm);
  if (o.json) {
    ordered_json j;
    j["vm"] = vm->dir;
    j["pid"] = vm->pid;
    j["vm_id"] = vm->vm_id;
    j["sysfs"] = tree;
    std::cout << j.dump() << "\n";
  } else {
    std::string out = "VM " + vm->dir + " (" + sys.root() + "/vms/" + vm->dir + ")\n";
    PrintTree(tree, 0, &out);
    std::cout << out;
  }
  return kOk;
}

// ---------------------------------------------------------------- set
int CmdSet(const Options& o, const std::string& vm_arg, const std::vector<std::string>& kv) {
  std::string err;
  auto changes = ParseAssignments(kv, VmKnobs(), &err);
  if (!changes) return Fail("set: " + err, kUsage);
  const Sysfs sys(o.sysfs);
  auto vm = sys.ResolveVm(vm_arg, &err);
  if (!vm) return Fail(err);
  auto cur = ReadVmKnobs(sys, *vm, &err);
  if (!cur) return Fail(err);
  KnobValues next = *cur;
  for (const auto& [k, v] : *changes) next[k] = v;
  if (!QuantaOrdered(next, &err)) return Fail("set: " + err, kUsage);
  const auto plan = PlanWrites(*cur, *changes);
  const auto res = ApplyWrites(plan, *cur, SysfsVmKnobWriter(sys, *vm));
  if (!res.ok) {
    std::string msg = "set " + vm->dir + ": writing " + res.failed_key +
                      " failed: " + std::strerror(res.error) + "; ";
    if (res.restore_failed.empty()) {
      msg += res.written ? "restored the " + std::to_string(res.restored) +
                               " value(s) already written, nothing changed"
                         : "nothing changed";
    } else {
      msg += "could not restore:";
      for (const auto& k : res.restore_failed) msg += " " + k + "=" + std::to_string(cur->at(k));
    }
    return Fail(msg);
  }
  if (o.json) {
    ordered_json j;
    j["vm"] = vm->dir;
    j["writes"] = ordered_json::array();
    for (const auto& w : plan) {
      j["writes"].push_back({{"key", w.key}, {"old", cur->at(w.key)}, {"new", w.value}});
    }
    j["policy"] = next;
    std::cout << j.dump() << "\n";
  } else if (plan.empty()) {
    std::cout << vm->dir << ": nothing to change\n";
  } else {
    for (const auto& w : plan) {
      std::cout << vm->dir << ": " << w.key << " " << cur->at(w.key) << " -> " << w.value << "\n";
    }
  }
  return kOk;
}

// ---------------------------------------------------------------- mode
int CmdMode(const Options& o, const std::string& mode) {
  const Sysfs sys(o.sysfs);
  if (!mode.empty()) {
    if (int e = sys.Write("mode", mode); e != 0) {
      return Fail("writing " + sys.root() + "/mode: " + std::strerror(e));
    }
  }
  auto cur = sys.Read("mode");
  if (!cur) return Fail("cannot read " + sys.root() + "/mode (is kvm_quanta loaded?)");
  if (o.json) {
    std::cout << ordered_json{{"mode", *cur}}.dump() << "\n";
  } else {
    std::cout << *cur << "\n";
  }
  return kOk;
}

// ---------------------------------------------------------------- record
int CmdRecord(const Options& o, const std::string& file, unsigned seconds) {
  const Sysfs sys(o.sysfs);
  std::string err;
  auto client = Connect(&err);
  if (!client) return Fail(err);
  auto conf = client->GetConfig(&err);
  if (!conf) return Fail("GET_CONFIG: " + err);
  if (!client->Subscribe(&err)) return Fail("subscribe: " + err);
  std::ofstream out(file, std::ios::trunc);
  if (!out) return Fail("cannot write " + file + ": " + std::strerror(errno));

  ordered_json header;
  header["type"] = "header";
  header["version"] = kRecordingVersion;
  header["interval_ms"] = conf->interval_ms;
  header["mode"] = kq::nl::ModeName(conf->mode);
  ordered_json params = ordered_json::object();
  for (const auto& p : HostParams()) {
    auto t = sys.Read(std::string("policy/") + p.name);
    if (t && !t->empty() && t->find_first_not_of("0123456789") == std::string::npos) {
      params[p.name] = std::stoull(*t);
    }
  }
  header["params"] = params;
  out << header.dump() << "\n";

  std::set<uint64_t> vms_seen;
  uint64_t windows = 0, complete = 0;
  std::set<std::pair<uint64_t, uint32_t>> vcpus;
  kq::nl::WindowTracker tracker([&](const kq::nl::Window& w) {
    for (const auto& v : w.vcpus) {
      vcpus.insert({v.vm_id, v.vcpu_idx});
      if (!vms_seen.insert(v.vm_id).second) continue;
      const std::string dir = std::to_string(v.pid) + "-" + std::to_string(v.vm_id);
      ordered_json vm;
      vm["type"] = "vm";
      vm["vm"] = dir;
      vm["pid"] = v.pid;
      vm["vm_id"] = v.vm_id;
      std::string why;
      auto knobs = ReadVmKnobs(sys, VmName{dir, v.pid, v.vm_id}, &why);
      vm["policy"] = knobs ? ordered_json(*knobs) : ordered_json::object();
      out << vm.dump() << "\n";
    }
    out << WindowLine(w).dump() << "\n";
    ++windows;
    complete += w.complete();
  });
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!g_stop && std::chrono::steady_clock::now() < end) {
    if (client->Receive(
            100, [&](const kq::nl::Message& m) { tracker.Add(m); }, &err) < 0) {
      return Fail("receive: " + err);
    }
  }
  tracker.Flush();
  out.flush();
  if (!out) return Fail("writing " + file + " failed");
  if (o.json) {
    std::cout << ordered_json{{"file", file},          {"windows", windows},
                              {"complete", complete},  {"vms", vms_seen.size()},
                              {"vcpus", vcpus.size()}, {"enobufs", client->enobufs()}}
                     .dump()
              << "\n";
  } else {
    std::cout << "recorded " << windows << " windows (" << complete << " complete) of "
              << vcpus.size() << " vCPUs in " << vms_seen.size() << " VMs to " << file << "\n";
  }
  return kOk;
}

// ---------------------------------------------------------------- replay
int CmdReplay(const Options& o, const std::string& file, const std::vector<std::string>& pol) {
  std::vector<std::string> vm_kv, host_kv;
  for (const auto& a : pol) {
    const std::string key = a.substr(0, a.find('='));
    if (FindKnob(VmKnobs(), key)) {
      vm_kv.push_back(a);
    } else if (FindKnob(HostParams(), key)) {
      host_kv.push_back(a);
    } else {
      std::string keys;
      for (const auto& k : VmKnobs()) keys += std::string(keys.empty() ? "" : ", ") + k.name;
      for (const auto& k : HostParams()) keys += std::string(", ") + k.name;
      return Fail("replay: --policy " + a + ": unknown key '" + key + "' (keys: " + keys + ")",
                  kUsage);
    }
  }
  std::string err;
  KnobValues vm_over, host_over;
  if (!vm_kv.empty()) {
    auto v = ParseAssignments(vm_kv, VmKnobs(), &err);
    if (!v) return Fail("replay: --policy " + err, kUsage);
    vm_over = *v;
  }
  if (!host_kv.empty()) {
    auto v = ParseAssignments(host_kv, HostParams(), &err);
    if (!v) return Fail("replay: --policy " + err, kUsage);
    host_over = *v;
  }
  std::ifstream in(file);
  if (!in) return Fail("cannot read " + file + ": " + std::strerror(errno));
  auto rec = ReadRecording(in, &err);
  if (!rec) return Fail(file + ": " + err);
  auto res = Replay(*rec, vm_over, host_over, &err);
  if (!res) return Fail("replay: " + err, kUsage);
  if (o.json) {
    std::cout << ReplayJson(*res).dump() << "\n";
  } else {
    std::cout << FormatReplay(*res);
  }
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"quantactl: look at and tune kvm_quanta (exit: 0 ok, 1 error, 2 usage)"};
  app.require_subcommand(1);
  app.set_version_flag("-V,--version", "quantactl " KQ_VERSION);
  Options o;
  app.add_option("--sysfs", o.sysfs, "kvm_quanta's sysfs root")->capture_default_str();
  app.add_flag("--json", o.json, "JSON output");
  app.fallthrough();

  bool once = false;
  auto* status = app.add_subcommand(
      "status", "per-VM, per-vCPU table from the netlink samples, refreshed every second");
  status->add_flag("--once", once, "print one table and exit");

  std::string vm_arg;
  auto* show = app.add_subcommand("show", "everything sysfs says about one VM");
  show->add_option("VM", vm_arg, "<pid>-<id> or a pid")->required();

  std::vector<std::string> kv;
  auto* set =
      app.add_subcommand("set",
                         "set a VM's policy knobs: enabled (0|1), min_quantum_us, base_quantum_us, "
                         "max_quantum_us (100..100000), weight (1..10000); all or nothing");
  set->add_option("VM", vm_arg, "<pid>-<id> or a pid")->required();
  set->add_option("KEY=VALUE", kv, "knobs to set")->required();

  std::string mode;
  auto* mode_cmd = app.add_subcommand("mode", "print or set the mode");
  mode_cmd->add_option("MODE", mode, "observe or enforce")
      ->check(CLI::IsMember({"observe", "enforce"}));

  std::string file;
  unsigned seconds = 0;
  auto* record = app.add_subcommand("record", "netlink windows to a JSON-lines file");
  record->add_option("FILE", file, "output file")->required();
  record->add_option("--seconds", seconds, "how long")->required()->check(CLI::Range(1u, 86400u));

  std::vector<std::string> pol;
  auto* replay = app.add_subcommand(
      "replay", "what the policy (src/core/policy.c) would decide over a recording");
  replay->add_option("FILE", file, "a recording")->required();
  replay->add_option("--policy", pol, "KEY=VALUE: a VM knob (for every VM) or a host parameter")
      ->take_all();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  // Every input is checked where it is read; this only keeps a mistake
  // there from ending in abort().
  try {
    if (*status) return CmdStatus(o, once);
    if (*show) return CmdShow(o, vm_arg);
    if (*set) return CmdSet(o, vm_arg, kv);
    if (*mode_cmd) return CmdMode(o, mode);
    if (*record) return CmdRecord(o, file, seconds);
    if (*replay) return CmdReplay(o, file, pol);
  } catch (const std::exception& e) {
    return Fail(std::string("internal error: ") + e.what());
  }
  return kUsage;
}
