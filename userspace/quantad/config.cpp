// SPDX-License-Identifier: GPL-2.0
#include "config.hpp"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace kq::quantad {
namespace {

struct ConfigError {
  int line;
  std::string reason;
};

int LineOf(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

[[noreturn]] void Fail(const toml::node& n, std::string reason) {
  throw ConfigError{LineOf(n), std::move(reason)};
}

std::string TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date/time";
  }
}

int64_t GetInt(const toml::node& n, std::string_view key, int64_t lo, int64_t hi) {
  const auto* v = n.as_integer();
  if (!v) Fail(n, std::string(key) + " must be an integer, not " + TypeName(n));
  const int64_t x = v->get();
  if (x < lo || x > hi)
    Fail(n, std::string(key) + " = " + std::to_string(x) + " is out of range " +
                std::to_string(lo) + ".." + std::to_string(hi));
  return x;
}

bool GetBool(const toml::node& n, std::string_view key) {
  const auto* v = n.as_boolean();
  if (!v) Fail(n, std::string(key) + " must be true or false, not " + TypeName(n));
  return v->get();
}

std::string GetString(const toml::node& n, std::string_view key) {
  const auto* v = n.as_string();
  if (!v) Fail(n, std::string(key) + " must be a string, not " + TypeName(n));
  return v->get();
}

// A policy key of [defaults] or [[vm]]; false if key is not one.
bool PolicyKey(std::string_view key, const toml::node& n, PolicyOverride* p) {
  if (key == "enabled") {
    p->enabled = GetBool(n, key);
  } else if (key == "min_quantum_us") {
    p->min_quantum_us = static_cast<uint32_t>(GetInt(n, key, kQuantumMinUs, kQuantumMaxUs));
  } else if (key == "base_quantum_us") {
    p->base_quantum_us = static_cast<uint32_t>(GetInt(n, key, kQuantumMinUs, kQuantumMaxUs));
  } else if (key == "max_quantum_us") {
    p->max_quantum_us = static_cast<uint32_t>(GetInt(n, key, kQuantumMinUs, kQuantumMaxUs));
  } else if (key == "weight") {
    p->weight = static_cast<uint32_t>(GetInt(n, key, kWeightMin, kWeightMax));
  } else {
    return false;
  }
  return true;
}

// [[vm]] group = "NAME": a valid name (GroupNameError); numbered later.
std::string GetGroup(const toml::node& n) {
  const auto* v = n.as_string();
  if (!v) Fail(n, "group must be a string (the group's name), not " + TypeName(n));
  const std::string name = v->get();
  if (auto why = GroupNameError(name)) Fail(n, "group " + *why);
  return name;
}

const toml::table& AsTable(const toml::node& n, std::string_view what) {
  const auto* t = n.as_table();
  if (!t) Fail(n, std::string(what) + " must be a table, not " + TypeName(n));
  return *t;
}

void CheckOrder(const Policy& p, int line, const std::string& what) {
  if (p.min_quantum_us > p.base_quantum_us || p.base_quantum_us > p.max_quantum_us)
    throw ConfigError{line, what + ": min_quantum_us " + std::to_string(p.min_quantum_us) +
                                " <= base_quantum_us " + std::to_string(p.base_quantum_us) +
                                " <= max_quantum_us " + std::to_string(p.max_quantum_us) +
                                " does not hold (after merging with [defaults])"};
}

bool IsGlob(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

// fnmatch(3) takes an unclosed '[' as a literal, so "db[12" would match only
// a VM literally named so: almost certainly a typo.  Refuse it.
std::optional<std::string> GlobError(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
      continue;
    }
    if (s[i] != '[') continue;
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '!' || s[j] == '^')) ++j;
    if (j < s.size() && s[j] == ']') ++j;  // a leading ']' is a member
    while (j < s.size() && s[j] != ']') ++j;
    if (j >= s.size())
      return "pattern \"" + std::string(s) + "\": '[' at offset " + std::to_string(i) +
             " is not closed by ']'";
    i = j;
  }
  if (!s.empty() && s.back() == '\\' && (s.size() < 2 || s[s.size() - 2] != '\\'))
    return "pattern \"" + std::string(s) + "\" ends in a lone '\\'";
  return std::nullopt;
}

void ParseDaemon(const toml::table& t, DaemonSettings* d) {
  for (const auto& [k, n] : t) {
    const std::string_view key = k.str();
    if (key == "metrics_listen") {
      d->metrics_listen = GetString(n, key);
      std::string why;
      if (!ParseListen(d->metrics_listen, &why)) Fail(n, "metrics_listen: " + why);
    } else if (key == "metrics_allow_remote") {
      d->metrics_allow_remote = GetBool(n, key);
    } else if (key == "bpf") {
      d->bpf = GetBool(n, key);
    } else if (key == "database") {
      d->database = GetString(n, key);
      if (d->database.empty() || d->database[0] != '/')
        Fail(n, "database must be an absolute path");
    } else if (key == "mode") {
      const std::string m = GetString(n, key);
      if (m != "observe" && m != "enforce")
        Fail(n, "mode must be \"observe\" or \"enforce\", not \"" + m + "\"");
      d->mode = m;
    } else if (key == "summary_interval_s") {
      d->summary_interval_s = static_cast<uint32_t>(GetInt(n, key, 1, 86400));
    } else if (key == "persist_interval_s") {
      d->persist_interval_s = static_cast<uint32_t>(GetInt(n, key, 1, 86400));
    } else if (key == "history_max_pct") {
      d->history_max_pct = static_cast<uint32_t>(GetInt(n, key, 0, 50));
    } else if (key == "history_min_windows") {
      d->history_min_windows = static_cast<uint64_t>(GetInt(n, key, 1, 1000000000));
    } else {
      Fail(n, "unknown key \"" + std::string(key) + "\" in [daemon]");
    }
  }
}

// [host]: names of HostParams(), integers within the module's ranges.
void ParseHost(const toml::table& t, KnobValues* out) {
  for (const auto& [k, n] : t) {
    const std::string key(k.str());
    const KnobSpec* spec = FindKnob(HostParams(), key);
    if (!spec) {
      std::string names;
      for (const KnobSpec& s : HostParams())
        names += (names.empty() ? "" : ", ") + std::string(s.name);
      Fail(n,
           "unknown key \"" + key + "\" in [host] (the module's host parameters: " + names + ")");
    }
    const std::string range = std::to_string(spec->lo) + ".." + std::to_string(spec->hi);
    if (!n.is_integer()) Fail(n, key + " must be an integer " + range + ", not " + TypeName(n));
    const auto hi = static_cast<int64_t>(std::min<uint64_t>(spec->hi, INT64_MAX));
    (*out)[key] = static_cast<uint64_t>(GetInt(n, key, static_cast<int64_t>(spec->lo), hi));
  }
}

// Numbers the group names of the [[vm]] entries (Config::group_names), at
// most kGroupMax of them: each takes its home, or the next free number
// after it, the names taken in sorted order so that the file's order does
// not matter.
void NumberGroups(const toml::array& entries, Config* c) {
  std::set<std::string> names;
  for (const VmRule& r : c->vms)
    if (!r.group.empty()) names.insert(r.group);
  c->groups.assign(names.begin(), names.end());
  if (c->groups.size() > static_cast<size_t>(kGroupMax)) {
    // Blame the first entry of the first name beyond the limit.
    const std::string& over = c->groups[static_cast<size_t>(kGroupMax)];
    for (size_t i = 0; i < c->vms.size(); ++i) {
      if (c->vms[i].group != over) continue;
      const toml::node* n = entries[i].as_table()->get("group");
      throw ConfigError{n ? LineOf(*n) : c->vms[i].line,
                        "too many groups: " + std::to_string(c->groups.size()) +
                            " group names, the module numbers at most " +
                            std::to_string(kGroupMax) + " (group \"" + over + "\")"};
    }
  }
  const auto max = static_cast<uint32_t>(kGroupMax);
  std::vector<bool> taken(max + 1);
  std::map<std::string, uint32_t> number;
  for (const std::string& name : c->groups) {
    uint32_t n = GroupHome(name);
    while (taken[n]) n = n % max + 1;
    taken[n] = true;
    number[name] = n;
    c->group_names[n] = name;
  }
  for (VmRule& r : c->vms)
    if (!r.group.empty()) r.policy.group = number.at(r.group);
}

Config ParseOrThrow(const toml::table& root, const std::string& path) {
  Config c;
  c.path = path;
  PolicyOverride defaults;
  int defaults_line = 1;
  const toml::array* vms = nullptr;
  for (const auto& [k, n] : root) {
    const std::string_view key = k.str();
    if (key == "daemon") {
      ParseDaemon(AsTable(n, "[daemon]"), &c.daemon);
    } else if (key == "host") {
      ParseHost(AsTable(n, "[host]"), &c.host);
    } else if (key == "defaults") {
      const toml::table& t = AsTable(n, "[defaults]");
      defaults_line = LineOf(t);
      for (const auto& [dk, dn] : t) {
        // A default group would take every VM the [[vm]] entries do not
        // name, of whatever tenant, into one group, with no way out of it
        // for a [[vm]] (a group name is never empty).
        if (dk.str() == "group")
          Fail(dn,
               "group is not allowed in [defaults]: put the VMs of a group in [[vm]] entries "
               "(a default group would make every other VM on the host, of any tenant, one "
               "group)");
        if (!PolicyKey(dk.str(), dn, &defaults))
          Fail(dn, "unknown key \"" + std::string(dk.str()) + "\" in [defaults]");
      }
    } else if (key == "vm") {
      vms = n.as_array();
      if (!vms) Fail(n, "vm must be an array of tables ([[vm]]), not " + TypeName(n));
    } else {
      Fail(n, "unknown key or table \"" + std::string(key) + "\"");
    }
  }
  if (defaults_line <= 0) defaults_line = 1;
  c.defaults = defaults.MergedOnto(Policy{});
  CheckOrder(c.defaults, defaults_line, "[defaults]");
  if (c.daemon.mode && c.daemon.mode->empty()) c.daemon.mode.reset();
  std::string why;
  const auto listen = ParseListen(c.daemon.metrics_listen, &why);
  if (listen && !listen->loopback && !c.daemon.metrics_allow_remote) {
    const toml::node* n = root.at_path("daemon.metrics_listen").node();
    throw ConfigError{n ? LineOf(*n) : 1,
                      "metrics_listen " + c.daemon.metrics_listen +
                          " is not a loopback address: set metrics_allow_remote = true to "
                          "expose the metrics beyond this host"};
  }
  if (!vms) return c;
  std::set<std::string> names;
  for (const toml::node& e : *vms) {
    const toml::table& t = AsTable(e, "[[vm]]");
    VmRule r;
    r.line = LineOf(t);
    bool have_name = false;
    for (const auto& [vk, vn] : t) {
      const std::string_view key = vk.str();
      if (key == "name") {
        r.name = GetString(vn, key);
        if (r.name.empty()) Fail(vn, "name must not be empty");
        if (!names.insert(r.name).second) Fail(vn, "duplicate [[vm]] name \"" + r.name + "\"");
        have_name = true;
      } else if (key == "group") {
        r.group = GetGroup(vn);
      } else if (!PolicyKey(key, vn, &r.policy)) {
        Fail(vn, "unknown key \"" + std::string(key) + "\" in [[vm]]");
      }
    }
    if (r.line <= 0) r.line = 1;
    if (!have_name) throw ConfigError{r.line, "[[vm]] without a name"};
    r.glob = IsGlob(r.name);
    if (r.glob)
      if (auto why = GlobError(r.name)) {
        const toml::node* n = t.get("name");
        throw ConfigError{n ? LineOf(*n) : r.line, *why};
      }
    CheckOrder(r.policy.MergedOnto(c.defaults), r.line, "[[vm]] \"" + r.name + "\"");
    c.vms.push_back(std::move(r));
  }
  NumberGroups(*vms, &c);
  return c;
}

}  // namespace

Policy PolicyOverride::MergedOnto(Policy p) const {
  if (enabled) p.enabled = *enabled;
  if (min_quantum_us) p.min_quantum_us = *min_quantum_us;
  if (base_quantum_us) p.base_quantum_us = *base_quantum_us;
  if (max_quantum_us) p.max_quantum_us = *max_quantum_us;
  if (weight) p.weight = *weight;
  if (group) p.group = *group;
  return p;
}

namespace {

// name quoted for a one-line message: bytes other than printable ASCII as
// \xNN.
std::string Quoted(std::string_view name) {
  std::string out = "\"";
  for (const char ch : name) {
    const auto u = static_cast<unsigned char>(ch);
    if (u >= 0x20 && u < 0x7f && ch != '"' && ch != '\\') {
      out += ch;
    } else {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02x", u);
      out += b;
    }
  }
  return out + "\"";
}

}  // namespace

std::optional<std::string> GroupNameError(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kGroupNameMax)
    return Quoted(name) + " is " + std::to_string(name.size()) + " characters long, at most " +
           std::to_string(kGroupNameMax);
  for (size_t i = 0; i < name.size(); ++i) {
    const char ch = name[i];
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
        ch == '.' || ch == '_' || ch == '-')
      continue;
    return Quoted(name) + ": character " + std::to_string(i + 1) +
           " is not one of A-Z a-z 0-9 . _ -";
  }
  return std::nullopt;
}

uint32_t GroupHome(std::string_view name) {
  uint32_t h = 2166136261u;
  for (const char ch : name) {
    h ^= static_cast<unsigned char>(ch);
    h *= 16777619u;
  }
  return h % static_cast<uint32_t>(kGroupMax) + 1;
}

std::string Config::GroupName(uint32_t n) const {
  const auto it = group_names.find(n);
  return it == group_names.end() ? "" : it->second;
}

Policy Config::PolicyFor(std::string_view vm_name, std::string* rule) const {
  const std::string name(vm_name);
  const VmRule* hit = nullptr;
  for (const VmRule& r : vms)
    if (r.name == name) {
      hit = &r;
      break;
    }
  if (!hit)
    for (const VmRule& r : vms)
      if (r.glob && fnmatch(r.name.c_str(), name.c_str(), 0) == 0) {
        hit = &r;
        break;
      }
  if (rule) *rule = hit ? hit->name : "";
  return hit ? hit->policy.MergedOnto(defaults) : defaults;
}

std::optional<ListenAddress> ParseListen(std::string_view s, std::string* error) {
  ListenAddress a;
  std::string_view port;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      *error = "expected [IPV6]:PORT";
      return std::nullopt;
    }
    a.host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) {
      *error = "expected HOST:PORT";
      return std::nullopt;
    }
    a.host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  uint32_t p = 0;
  if (port.empty() || port.size() > 5)
    p = 0;
  else
    for (char ch : port) {
      if (ch < '0' || ch > '9') {
        p = 0;
        break;
      }
      p = p * 10 + static_cast<uint32_t>(ch - '0');
    }
  if (p < 1 || p > 65535) {
    *error = "port must be 1..65535";
    return std::nullopt;
  }
  a.port = static_cast<uint16_t>(p);
  if (a.host == "localhost") {
    a.host = "127.0.0.1";
  }
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, a.host.c_str(), &v4) == 1) {
    a.loopback = (ntohl(v4.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, a.host.c_str(), &v6) == 1) {
    a.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
  } else {
    *error = "\"" + a.host + "\" is not an IP address";
    return std::nullopt;
  }
  return a;
}

std::optional<Config> ParseConfig(std::string_view text, const std::string& path,
                                  std::string* error) {
  try {
    toml::table root = toml::parse(text, path);
    // An empty file is more likely a half-written one than a wish for the
    // built-in defaults (which a reload would silently apply to every VM).
    if (root.empty()) {
      *error = path +
               ":1: empty configuration (no tables or keys); to run on the built-in defaults "
               "say so with an empty [defaults] table";
      return std::nullopt;
    }
    return ParseOrThrow(root, path);
  } catch (const toml::parse_error& e) {
    *error =
        path + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description());
  } catch (const ConfigError& e) {
    *error = path + ":" + std::to_string(e.line) + ": " + e.reason;
  }
  return std::nullopt;
}

std::optional<std::string> RemoteListenError(const std::string& listen, const Config& c) {
  std::string why;
  const auto a = ParseListen(listen, &why);
  if (!a) return "metrics address " + listen + ": " + why;
  if (!a->loopback && !c.daemon.metrics_allow_remote)
    return "metrics address " + listen +
           " is not a loopback address: set [daemon] metrics_allow_remote = true to expose the "
           "metrics beyond this host";
  return std::nullopt;
}

std::optional<Config> LoadConfig(const std::string& path, std::string* error) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    *error = path + ": not a regular file" + (S_ISDIR(st.st_mode) ? " (a directory)" : "");
    return std::nullopt;
  }
  std::ifstream in(path);
  if (!in) {
    *error = path + ": cannot open: " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseConfig(ss.str(), path, error);
}

}  // namespace kq::quantad
