// SPDX-License-Identifier: GPL-2.0
// quantactl: look at and tune kvm_quanta.  Exit: 0 ok, 1 operational error,
// 2 usage error.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "knobs.hpp"
#include "kq_nl.hpp"
#include "kq_version.hpp"
#include "naming.hpp"
#include "recording.hpp"
#include "status.hpp"
#include "store.hpp"
#include "sysfs.hpp"
#include "window.hpp"

namespace {

using namespace kq;
using namespace kq::ctl;
using nlohmann::ordered_json;

constexpr int kOk = 0, kError = 1, kUsage = 2;

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

struct Options {
  std::string sysfs = kDefaultSysfsRoot;
  std::string proc = "/proc";
  bool json = false;
  // VMs are named here with quantad's own code (lib/naming) from
  // /proc/PID: the same names, with or without quantad running.
  std::string NameOf(uint32_t pid) const { return kq::VmName(proc, pid); }
  std::function<std::string(const VmDir&)> Namer() const {
    return [this](const VmDir& vm) { return NameOf(vm.pid); };
  }
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
    const Status s = BuildStatus(sys, *samples, [&o](uint32_t pid) { return o.NameOf(pid); });
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
  auto vm = sys.ResolveVm(vm_arg, &err, o.Namer());
  if (!vm) return Fail(err);
  ordered_json tree = sys.VmTree(*vm);
  if (o.json) {
    ordered_json j;
    j["vm"] = vm->dir;
    j["name"] = o.NameOf(vm->pid);
    j["pid"] = vm->pid;
    j["vm_id"] = vm->vm_id;
    j["sysfs"] = tree;
    std::cout << j.dump() << "\n";
  } else {
    std::string out =
        "VM " + vm->dir + " " + o.NameOf(vm->pid) + " (" + sys.root() + "/vms/" + vm->dir + ")\n";
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
  auto vm = sys.ResolveVm(vm_arg, &err, o.Namer());
  if (!vm) return Fail(err);
  bool invalid = false;
  auto u = sys.UpdateKnobs(VmPolicyDir(*vm), VmKnobs(), *changes, &err, &invalid);
  if (!u) return Fail("set " + vm->dir + ": " + err, invalid ? kUsage : kError);
  if (!u->result.ok) return Fail("set " + vm->dir + ": " + DescribeFailure(u->result, u->before));
  const auto& plan = u->plan;
  const auto* cur = &u->before;
  const auto& next = u->after;
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
      auto knobs = sys.ReadKnobs(VmPolicyDir(VmDir{dir, v.pid, v.vm_id}), VmKnobs(), &why);
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

// ---------------------------------------------------------------- policy
// Host-wide policy parameters (policy/): print them, or set some with the
// same all-or-nothing writer as set.
int CmdPolicy(const Options& o, const std::vector<std::string>& kv) {
  const Sysfs sys(o.sysfs);
  if (!sys.Exists("")) return Fail("kvm_quanta is not loaded (no " + o.sysfs + ")");
  std::string err;
  KnobValues values;
  std::vector<Write> plan;
  KnobValues before;
  if (kv.empty()) {
    auto cur = sys.ReadKnobs(kHostPolicyDir, HostParams(), &err);
    if (!cur) return Fail(err);
    values = *cur;
  } else {
    auto changes = ParseAssignments(kv, HostParams(), &err);
    if (!changes) return Fail("policy: " + err, kUsage);
    auto u = sys.UpdateKnobs(kHostPolicyDir, HostParams(), *changes, &err);
    if (!u) return Fail("policy: " + err);
    if (!u->result.ok) return Fail("policy: " + DescribeFailure(u->result, u->before));
    values = u->after;
    plan = u->plan;
    before = u->before;
  }
  if (o.json) {
    ordered_json j;
    j["policy"] = values;
    if (!kv.empty()) {
      j["writes"] = ordered_json::array();
      for (const auto& w : plan)
        j["writes"].push_back({{"key", w.key}, {"old", before.at(w.key)}, {"new", w.value}});
    }
    std::cout << j.dump() << "\n";
  } else if (!kv.empty()) {
    if (plan.empty()) std::cout << "policy: nothing to change\n";
    for (const auto& w : plan)
      std::cout << "policy: " << w.key << " " << before.at(w.key) << " -> " << w.value << "\n";
  } else {
    for (const auto& p : HostParams()) std::cout << p.name << " " << values.at(p.name) << "\n";
  }
  return kOk;
}

// ---------------------------------------------------------------- profile
// A VM's learned profile (quantad's database) as a versioned JSON document,
// to carry it to another host: export reads the database, import checks the
// document whole and queues it for quantad (which takes it at its next save
// or start); a bad document changes nothing.
constexpr const char* kProfileFormat = "kvm-quanta-profile";
constexpr uint64_t kProfileVersion = 1;

int CmdProfileExport(const std::string& db, const std::string& name, const std::string& output) {
  if (access(db.c_str(), F_OK) != 0) return Fail("no profile database at " + db);
  std::string err;
  auto store = kq::ProfileStore::Open(db, &err);
  if (!store) return Fail(err);
  auto p = store->Load(name, &err);
  if (!p) return Fail(db + ": " + err);
  ordered_json j;
  j["format"] = kProfileFormat;
  j["version"] = kProfileVersion;
  j["name"] = name;
  j["profile"] = kq::ProfileToJson(*p);
  const std::string text = j.dump(2) + "\n";
  if (output.empty() || output == "-") {
    std::cout << text;
    return kOk;
  }
  // Whole or not at all: a hook that copies the file never sees half of it.
  const std::string tmp = output + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return Fail("cannot write " + tmp + ": " + std::strerror(errno));
    }
  }
  if (std::rename(tmp.c_str(), output.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    return Fail("cannot write " + output + ": " + std::strerror(e));
  }
  return kOk;
}

// The document's name and profile, or *error.
std::optional<std::pair<std::string, kq::Profile>> ParseProfileDoc(const std::string& text,
                                                                   std::string* error) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *error = "not a JSON object";
    return std::nullopt;
  }
  for (const auto& [k, v] : j.items())
    if (k != "format" && k != "version" && k != "name" && k != "profile") {
      *error = k + ": unknown key";
      return std::nullopt;
    }
  auto f = j.find("format");
  if (f == j.end() || !f->is_string() || f->get<std::string>() != kProfileFormat) {
    *error = std::string("format: not \"") + kProfileFormat + "\"";
    return std::nullopt;
  }
  auto v = j.find("version");
  if (v == j.end() || !v->is_number_unsigned() || v->get<uint64_t>() != kProfileVersion) {
    *error = "version: " + (v == j.end() ? std::string("missing") : v->dump()) +
             " is not supported (this quantactl reads " + std::to_string(kProfileVersion) + ")";
    return std::nullopt;
  }
  auto n = j.find("name");
  if (n == j.end() || !n->is_string() || n->get<std::string>().empty() ||
      n->get<std::string>().size() > 1024) {
    *error = "name: missing, empty or not a string";
    return std::nullopt;
  }
  auto pj = j.find("profile");
  if (pj == j.end()) {
    *error = "profile: missing";
    return std::nullopt;
  }
  std::string why;
  auto p = kq::ProfileFromJson(*pj, &why);
  if (!p) {
    *error = "profile." + why;
    return std::nullopt;
  }
  return std::make_pair(n->get<std::string>(), *p);
}

int CmdProfileImport(const Options& o, const std::string& db, const std::string& file) {
  std::ifstream in(file);
  if (!in) return Fail("cannot read " + file + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string err;
  auto doc = ParseProfileDoc(ss.str(), &err);
  if (!doc) return Fail(file + ": " + err + "; nothing imported");
  auto store = kq::ProfileStore::Open(db, &err);
  if (!store) return Fail(err);
  if (!store->QueueImport(doc->first, doc->second, &err)) return Fail(db + ": " + err);
  if (o.json) {
    std::cout << ordered_json{{"name", doc->first},
                              {"windows", doc->second.windows},
                              {"queued", true}}
                     .dump()
              << "\n";
  } else {
    std::cout << "profile of " << doc->first << " (" << doc->second.windows
              << " windows) queued in " << db << "; quantad takes it at its next save\n";
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
  app.add_option("--proc-root", o.proc, "procfs root, where VM names are read (for tests)")
      ->capture_default_str();
  app.add_flag("--json", o.json, "JSON output");
  app.fallthrough();

  bool once = false;
  auto* status = app.add_subcommand(
      "status", "per-VM, per-vCPU table from the netlink samples, refreshed every second");
  status->add_flag("--once", once, "print one table and exit");

  std::string vm_arg;
  auto* show = app.add_subcommand("show", "everything sysfs says about one VM");
  show->add_option("VM", vm_arg, "<pid>-<id>, a pid or a VM name")->required();

  std::vector<std::string> kv;
  auto* set = app.add_subcommand(
      "set", "set a VM's policy knobs (" + KnobRanges(VmKnobs()) + "); all or nothing");
  set->add_option("VM", vm_arg, "<pid>-<id>, a pid or a VM name")->required();
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

  std::vector<std::string> host_kv;
  auto* policy = app.add_subcommand("policy", "print or set the host-wide policy parameters (" +
                                                  KnobRanges(HostParams()) + "); all or nothing");
  policy->add_option("KEY=VALUE", host_kv, "parameters to set");

  std::string db = "/var/lib/kvm-quanta/quantad.db", name, output;
  auto* profile = app.add_subcommand("profile", "export or import a VM's learned profile");
  profile->require_subcommand(1);
  profile->fallthrough();  // --database before or after export/import
  profile->add_option("--database", db, "quantad's profile database")->capture_default_str();
  auto* pexport = profile->add_subcommand("export", "a VM's profile as JSON");
  pexport->add_option("NAME", name, "the VM's name (as quantad names it)")->required();
  pexport->add_option("-o,--output", output, "write to FILE (atomically) instead of stdout");
  auto* pimport = profile->add_subcommand("import", "queue a profile for quantad");
  pimport->add_option("FILE", file, "a document written by profile export")->required();

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
    if (*policy) return CmdPolicy(o, host_kv);
    if (*pexport) return CmdProfileExport(db, name, output);
    if (*pimport) return CmdProfileImport(o, db, file);
  } catch (const std::exception& e) {
    return Fail(std::string("internal error: ") + e.what());
  }
  return kUsage;
}
