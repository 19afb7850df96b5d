// SPDX-License-Identifier: GPL-2.0
// Property tests for the perf event set and the per-vCPU counters
// (src/core/events.c): random valid sets round-trip, random garbage is
// either rejected whole or parsed into what a small model of the syntax
// says, and random sets on a fake backend with random failures keep the
// counters' invariants.  The exact cases live in kunit/events_test.c.
#include "events.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Spec {
  std::string name;
  u32 type;
  u64 config;
  int role;
  bool operator==(const Spec&) const = default;
};

// The generic events and their roles, as the knob documents them.
const std::vector<Spec>& Generic() {
  static const std::vector<Spec> g = {
      {"cycles", 0, 0, KVM_QUANTA_EV_CYCLES},
      {"cpu-cycles", 0, 0, KVM_QUANTA_EV_CYCLES},
      {"instructions", 0, 1, KVM_QUANTA_EV_INSTRUCTIONS},
      {"cache-references", 0, 2, KQ_ROLE_NONE},
      {"cache-misses", 0, 3, KVM_QUANTA_EV_LLC_MISSES},
      {"llc-misses", 0, 3, KVM_QUANTA_EV_LLC_MISSES},
      {"branch-instructions", 0, 4, KQ_ROLE_NONE},
      {"branches", 0, 4, KQ_ROLE_NONE},
      {"branch-misses", 0, 5, KVM_QUANTA_EV_BRANCH_MISSES},
      {"LLC-load-misses", 3, 0x10002, KVM_QUANTA_EV_LLC_MISSES},
  };
  return g;
}

int RoleOf(u32 type, u64 config) {
  for (const auto& g : Generic())
    if (g.type == type && g.config == config) return g.role;
  return KQ_ROLE_NONE;
}

std::vector<Spec> ToSpecs(const kq_event_set& s) {
  std::vector<Spec> v;
  for (unsigned i = 0; i < s.nr; ++i)
    v.push_back({s.ev[i].name, s.ev[i].type, s.ev[i].config, s.ev[i].role});
  return v;
}

std::string Format(const kq_event_set& s) {
  char buf[512];
  const int n = kq_event_set_format(&s, buf, sizeof(buf));
  EXPECT_EQ(static_cast<size_t>(n), std::strlen(buf));
  return std::string(buf, n);
}

int Parse(const std::string& str, kq_event_set* s) {
  return kq_event_set_parse(str.data(), str.size(), s);
}

bool IsSep(char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n'; }

std::vector<std::string> Tokens(const std::string& s) {
  std::vector<std::string> t;
  std::string cur;
  for (char c : s) {
    if (IsSep(c)) {
      if (!cur.empty()) t.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) t.push_back(cur);
  return t;
}

// A number as the knob reads it: decimal, or 0x/0X and hex digits.
std::optional<unsigned __int128> Number(const std::string& s) {
  size_t i = 0;
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) base = 16, i = 2;
  if (i == s.size()) return std::nullopt;
  unsigned __int128 v = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = v * base + d;
    if (v >> 64) v = static_cast<unsigned __int128>(1) << 64;  // sticky "too big"
  }
  return v;
}

// A model of the documented syntax: the set, or nothing if it is invalid.
// Elements are separated by commas; one of blanks only is empty ("a,,b",
// a leading or a trailing comma), and that is an error.
bool HasEmptyElement(const std::string& s) {
  if (s.find(',') == std::string::npos) return false;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(',', start);
    const std::string part =
        s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (Tokens(part).empty()) return true;
    if (end == std::string::npos) return false;
    start = end + 1;
  }
}

std::optional<std::vector<Spec>> Model(const std::string& s) {
  if (s.find('\0') != std::string::npos) return std::nullopt;
  if (HasEmptyElement(s)) return std::nullopt;
  const auto tok = Tokens(s);
  if (tok.empty()) return std::nullopt;
  std::vector<Spec> out;
  for (const auto& t : tok) {
    if (t == "none") {
      if (tok.size() != 1) return std::nullopt;
      return out;
    }
  }
  if (tok.size() > KQ_EVENTS_MAX) return std::nullopt;
  for (const auto& t : tok) {
    if (t.size() >= KQ_EVENT_NAME_LEN) return std::nullopt;
    std::optional<Spec> e;
    for (const auto& g : Generic())
      if (g.name == t) e = Spec{t, g.type, g.config, g.role};
    if (!e) {
      const size_t colon = t.find(':');
      if (colon == std::string::npos || t.find(':', colon + 1) != std::string::npos)
        return std::nullopt;
      const auto type = Number(t.substr(0, colon)), config = Number(t.substr(colon + 1));
      if (!type || !config || *type > 0xffff || (*config >> 64)) return std::nullopt;
      e = Spec{t, static_cast<u32>(*type), static_cast<u64>(*config), 0};
      e->role = RoleOf(e->type, e->config);
    }
    for (const auto& o : out)
      if ((o.type == e->type && o.config == e->config) ||
          (o.role != KQ_ROLE_NONE && o.role == e->role))
        return std::nullopt;
    out.push_back(*e);
  }
  return out;
}

std::string Hex(u64 v, bool upper) {
  static const char* lo = "0123456789abcdef";
  static const char* up = "0123456789ABCDEF";
  std::string s;
  do {
    s.insert(s.begin(), (upper ? up : lo)[v & 15]);
    v >>= 4;
  } while (v);
  return s;
}

// A raw spelling of (type, config) in one of the accepted forms.
std::string Spell(std::mt19937_64& rng, u64 v) {
  std::string s;
  switch (rng() % 4) {
    case 0:
      s = std::to_string(v);
      break;
    case 1:
      s = "0x" + Hex(v, false);
      break;
    case 2:
      s = "0X" + Hex(v, true);
      break;
    default:
      s = "0x" + Hex(v, rng() % 2);
      break;
  }
  if (rng() % 8 == 0) s.insert(s[1] == 'x' || s[1] == 'X' ? 2 : 0, std::string(1 + rng() % 3, '0'));
  return s;
}

// Blanks (no comma): allowed around elements and at either end.
std::string Blanks(std::mt19937_64& rng, size_t min) {
  static const char blanks[] = {' ', '\t', '\n'};
  std::string s;
  const size_t n = min + rng() % 3;
  for (size_t i = 0; i < n; ++i) s += blanks[rng() % 3];
  return s;
}

// Between two elements: one comma with blanks around it, or blanks alone.
std::string Between(std::mt19937_64& rng) {
  if (rng() % 2) return Blanks(rng, 0) + "," + Blanks(rng, 0);
  return Blanks(rng, 1);
}

// A random valid set and a random way to write it.
std::pair<std::string, std::vector<Spec>> RandomValid(std::mt19937_64& rng) {
  std::vector<Spec> set;
  if (rng() % 16 == 0) return {Blanks(rng, 0) + "none" + Blanks(rng, 0), set};
  const size_t want = 1 + rng() % KQ_EVENTS_MAX;
  for (int tries = 0; set.size() < want && tries < 100; ++tries) {
    Spec e;
    if (rng() % 3 == 0) {
      e = Generic()[rng() % Generic().size()];
    } else {
      static const u32 types[] = {0, 1, 3, 4, 8, 0xffff};
      e.type = rng() % 4 ? types[rng() % 6] : static_cast<u32>(rng() % 0x10000);
      e.config = rng() % 2 ? rng() % 8 : rng() % 3 ? rng() >> (rng() % 64) : ~u64{0};
      if (e.type == 3 && rng() % 4 == 0) e.config = 0x10002;
      e.name = Spell(rng, e.type) + ":" + Spell(rng, e.config);
      e.role = RoleOf(e.type, e.config);
    }
    if (e.name.size() >= KQ_EVENT_NAME_LEN) continue;
    bool clash = false;
    for (const auto& o : set)
      clash |= (o.type == e.type && o.config == e.config) ||
               (o.role != KQ_ROLE_NONE && o.role == e.role);
    if (!clash) set.push_back(e);
  }
  std::string s = rng() % 4 ? "" : Blanks(rng, 1);
  for (size_t i = 0; i < set.size(); ++i) s += (i ? Between(rng) : "") + set[i].name;
  if (rng() % 2) s += rng() % 2 ? "\n" : Blanks(rng, 1);
  return {s, set};
}

TEST(Events, RandomValidSetsParseAsWrittenAndRoundTrip) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    const auto [text, want] = RandomValid(rng);
    kq_event_set a, b;
    std::memset(&a, 0x5a, sizeof(a));
    ASSERT_EQ(Parse(text, &a), 0) << '"' << text << '"';
    ASSERT_EQ(ToSpecs(a), want) << '"' << text << '"';
    const std::string f = Format(a);
    ASSERT_FALSE(f.empty());
    EXPECT_EQ(f.back(), '\n');
    ASSERT_EQ(Parse(f, &b), 0) << f;
    EXPECT_EQ(ToSpecs(b), ToSpecs(a)) << f;
    EXPECT_EQ(Format(b), f);
  }
}

// More than KQ_EVENTS_MAX distinct events is -E2BIG, however written.
TEST(Events, TooManyEventsIsE2big) {
  std::mt19937_64 rng(16);
  for (int i = 0; i < 2000; ++i) {
    std::string text;
    const unsigned n = KQ_EVENTS_MAX + 1 + rng() % 8;
    for (unsigned k = 0; k < n; ++k)
      text += (k ? Between(rng) : Blanks(rng, 0)) + Spell(rng, 4) + ":" + Spell(rng, 100 + k);
    kq_event_set s, orig;
    std::memset(&orig, 0x3c, sizeof(orig));
    std::memcpy(&s, &orig, sizeof(s));
    EXPECT_EQ(Parse(text, &s), -E2BIG) << text;
    EXPECT_EQ(0, std::memcmp(&s, &orig, sizeof(s)));
  }
}

// LLC misses have two distinct events; a set may count only one of them.
TEST(Events, TwoEventsForOneRoleAreRejected) {
  std::mt19937_64 rng(17);
  int tried = 0;
  for (int i = 0; i < 20000; ++i) {
    auto [text, set] = RandomValid(rng);
    const Spec* llc = nullptr;
    for (const auto& e : set)
      if (e.role == KVM_QUANTA_EV_LLC_MISSES) llc = &e;
    if (!llc || set.size() >= KQ_EVENTS_MAX) continue;
    ++tried;
    std::string other;
    if (llc->type == 0)
      other = rng() % 2 ? "LLC-load-misses" : Spell(rng, 3) + ":" + Spell(rng, 0x10002);
    else
      other = rng() % 2 ? (rng() % 2 ? "llc-misses" : "cache-misses")
                        : Spell(rng, 0) + ":" + Spell(rng, 3);
    // Before or after the other events
    text = rng() % 2 ? other + Between(rng) + text : text + Between(rng) + other;
    kq_event_set s;
    EXPECT_EQ(Parse(text, &s), -EINVAL) << text;
  }
  EXPECT_GT(tried, 1000);
}

// Names up to KQ_EVENT_NAME_LEN - 1 characters, and not one more.
TEST(Events, NameLengthLimit) {
  for (size_t len = 3; len < 2 * KQ_EVENT_NAME_LEN; ++len) {
    const std::string name = "4:" + std::string(len - 3, '0') + "7";
    kq_event_set s;
    std::memset(&s, 0x3c, sizeof(s));
    const int ret = Parse("cycles," + name + "\n", &s);
    if (len < KQ_EVENT_NAME_LEN) {
      ASSERT_EQ(ret, 0) << name;
      ASSERT_EQ(s.nr, 2u);
      EXPECT_EQ(std::string(s.ev[1].name), name);
      EXPECT_EQ(s.ev[1].type, 4u);
      EXPECT_EQ(s.ev[1].config, 7u);
    } else {
      EXPECT_EQ(ret, -EINVAL) << name;
    }
  }
}

// Fragments that make near-valid text likely: names, numbers at the limits,
// separators, NULs and stray characters.
std::string RandomGarbage(std::mt19937_64& rng) {
  static const char* frag[] = {
      "cycles",
      "instructions",
      "llc-misses",
      "LLC-load-misses",
      "branches",
      "branch-misses",
      "cpu-cycles",
      "none",
      "4:",
      "0:",
      "3:",
      ":",
      "0x",
      "0X",
      "412e",
      "1",
      "0",
      "2",
      "65535",
      "65536",
      "0xffff",
      "18446744073709551615",
      "18446744073709551616",
      "0xffffffffffffffff",
      "0x10000000000000000",
      "3:0x10002",
      ",",
      " ",
      "\n",
      "\t",
      ",,",
      "x",
      "Z",
      "-",
      "+",
      "cyc",
  };
  std::string s;
  const size_t n = rng() % 14;
  for (size_t i = 0; i < n; ++i) {
    const unsigned k = rng() % 41;
    if (k < std::size(frag))
      s += frag[k];
    else if (k % 2)
      s += '\0';
    else
      s += static_cast<char>(rng() % 256);
  }
  return s;
}

void CheckAnyInput(const std::string& text) {
  kq_event_set s, orig;
  std::memset(&orig, 0xc3, sizeof(orig));
  std::memcpy(&s, &orig, sizeof(s));
  const int ret = Parse(text, &s);
  const auto model = Model(text);
  if (ret) {
    EXPECT_TRUE(ret == -EINVAL || ret == -ERANGE || ret == -E2BIG) << ret;
    EXPECT_EQ(0, std::memcmp(&s, &orig, sizeof(s))) << "output changed on error";
    EXPECT_FALSE(model.has_value()) << "rejected (" << ret << ") a valid set: \"" << text << '"';
    return;
  }
  ASSERT_TRUE(model.has_value()) << "accepted an invalid set: \"" << text << '"';
  ASSERT_LE(s.nr, static_cast<unsigned>(KQ_EVENTS_MAX));
  EXPECT_EQ(ToSpecs(s), *model);
  // It formats back to the same events, in the same order, one comma apart.
  std::string canon;
  for (const auto& t : Tokens(text)) canon += (canon.empty() ? "" : ",") + t;
  canon += '\n';
  const std::string f = Format(s);
  EXPECT_EQ(f, canon);
  kq_event_set again;
  ASSERT_EQ(Parse(f, &again), 0) << f;
  EXPECT_EQ(ToSpecs(again), ToSpecs(s));
}

TEST(Events, RandomGarbageIsRejectedWholeOrParsedAsTheSyntaxSays) {
  std::mt19937_64 rng(12);
  int accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string text = RandomGarbage(rng);
    CheckAnyInput(text);
    kq_event_set s;
    accepted += Parse(text, &s) == 0;
    if (HasFailure()) break;
  }
  // The generator must reach both outcomes for the test to mean much.
  EXPECT_GT(accepted, 1000);
}

TEST(Events, MutatedValidSetsAreRejectedWholeOrParsedAsTheSyntaxSays) {
  std::mt19937_64 rng(13);
  for (int i = 0; i < 100000; ++i) {
    std::string text = RandomValid(rng).first;
    const int muts = 1 + rng() % 3;
    for (int m = 0; m < muts; ++m) {
      const size_t at = text.empty() ? 0 : rng() % (text.size() + 1);
      const char c = "0x:, \n\tZf9-\0"[rng() % 12];
      switch (rng() % 3) {
        case 0:
          text.insert(text.begin() + at, c);
          break;
        case 1:
          if (at < text.size()) text.erase(at, 1);
          break;
        default:
          if (at < text.size()) text[at] = c;
          break;
      }
    }
    CheckAnyInput(text);
    if (HasFailure()) break;
  }
}

// Whatever the buffer size, the output is a terminated prefix of the full
// line and nothing past the buffer is written.
TEST(Events, FormatNeverWritesPastTheBuffer) {
  std::mt19937_64 rng(14);
  for (int i = 0; i < 2000; ++i) {
    kq_event_set s;
    ASSERT_EQ(Parse(RandomValid(rng).first, &s), 0);
    const std::string full = Format(s);
    for (size_t size = 0; size <= full.size() + 2; ++size) {
      std::vector<char> buf(size + 16, '\x7f');
      const int n = kq_event_set_format(&s, buf.data(), size);
      for (size_t k = size; k < buf.size(); ++k) ASSERT_EQ(buf[k], '\x7f') << "size " << size;
      if (!size) {
        EXPECT_EQ(n, 0);
        continue;
      }
      const size_t want = std::min(size - 1, full.size());
      ASSERT_EQ(static_cast<size_t>(n), want) << "size " << size;
      EXPECT_EQ(std::string(buf.data()), full.substr(0, want));
    }
  }
}

// ---- counters on a fake backend ------------------------------------------

struct FakeCounter {
  const kq_event_spec* spec;
  bool failed;
  int read_err;
  kq_pmu_value next;
  unsigned reads, closes;
};

struct Fake {
  std::vector<std::pair<std::pair<u32, u64>, int>> fail;  // (type, config) -> errno
  std::vector<FakeCounter*> all;
  unsigned opens = 0, closes = 0, bad = 0;
  ~Fake() {
    for (auto* c : all) delete c;
  }
};

int FakeOpen(void* ctx, const kq_event_spec* spec, void** handle) {
  auto* f = static_cast<Fake*>(ctx);
  int err = 0;
  for (const auto& [ev, e] : f->fail)
    if (ev.first == spec->type && ev.second == spec->config) err = e;
  auto* c = new FakeCounter{spec, err != 0, 0, {}, 0, 0};
  f->all.push_back(c);
  *handle = c;  // left behind on failure too: the caller must drop it
  if (!err) f->opens++;
  return err;
}

Fake* g_fake;  // for read and close, which get no context

int FakeRead(void* handle, kq_pmu_value* out) {
  auto* c = static_cast<FakeCounter*>(handle);
  if (c->failed || c->closes) g_fake->bad++;
  c->reads++;
  if (c->read_err) {
    *out = {0xbad, 0xbad, 0xbad, true};
    return c->read_err;
  }
  *out = c->next;
  out->valid = false;
  return 0;
}

void FakeClose(void* handle) {
  auto* c = static_cast<FakeCounter*>(handle);
  if (c->failed || c->closes) g_fake->bad++;
  c->closes++;
  g_fake->closes++;
}

const kq_counter_ops kFakeOps = {FakeOpen, FakeRead, FakeClose};

TEST(Events, CountersOnARandomFakeBackendKeepTheirInvariants) {
  std::mt19937_64 rng(15);
  static const int errs[] = {-ENOENT, -EOPNOTSUPP, -EINVAL, -ENODEV, -EACCES};
  for (int run = 0; run < 5000; ++run) {
    kq_event_set set;
    ASSERT_EQ(Parse(RandomValid(rng).first, &set), 0);
    Fake fake;
    g_fake = &fake;
    std::vector<int> want_err(set.nr, 0);
    const bool no_pmu = rng() % 8 == 0;
    for (unsigned i = 0; i < set.nr; ++i)
      if (no_pmu || rng() % 3 == 0) {
        want_err[i] = no_pmu ? -ENOENT : errs[rng() % std::size(errs)];
        fake.fail.push_back({{set.ev[i].type, set.ev[i].config}, want_err[i]});
      }
    kq_counters c;
    std::memset(&c, 0x6b, sizeof(c));
    kq_counters_open(&c, &set, &kFakeOps, &fake);
    ASSERT_EQ(c.nr, set.nr);
    ASSERT_EQ(fake.all.size(), set.nr);
    for (unsigned i = 0; i < KQ_EVENTS_MAX; ++i) {
      const int err = i < set.nr ? want_err[i] : 0;
      EXPECT_EQ(c.err[i], err) << "slot " << i;
      EXPECT_EQ(c.handle[i], i < set.nr && !err ? fake.all[i] : nullptr) << "slot " << i;
      if (i < set.nr) {
        EXPECT_EQ(fake.all[i]->spec, &set.ev[i]);
      }
    }

    const int rounds = 1 + rng() % 4;
    for (int r = 0; r < rounds; ++r) {
      for (auto* fc : fake.all) {
        fc->next = {rng(), rng(), rng(), false};
        fc->read_err = rng() % 4 == 0 ? -EIO : 0;
      }
      kq_pmu_value pmu[KVM_QUANTA_EV_NR];
      for (auto& p : pmu) p = {1, 2, 3, true};
      kq_counters_read(&c, &set, &kFakeOps, pmu);
      for (int role = 0; role < KVM_QUANTA_EV_NR; ++role) {
        std::optional<kq_pmu_value> want;
        for (unsigned i = 0; i < set.nr; ++i)
          if (set.ev[i].role == role && !want_err[i] && !fake.all[i]->read_err)
            want = fake.all[i]->next;
        if (want) {
          EXPECT_TRUE(pmu[role].valid) << "role " << role;
          EXPECT_EQ(pmu[role].value, want->value);
          EXPECT_EQ(pmu[role].enabled, want->enabled);
          EXPECT_EQ(pmu[role].running, want->running);
        } else {
          EXPECT_FALSE(pmu[role].valid) << "role " << role;
          EXPECT_EQ(pmu[role].value, 0u);
        }
      }
    }
    for (unsigned i = 0; i < set.nr; ++i) {
      if (!want_err[i] && set.ev[i].role != KQ_ROLE_NONE) {
        EXPECT_EQ(fake.all[i]->reads, static_cast<unsigned>(rounds)) << "slot " << i;
      }
    }

    kq_counters_close(&c, &kFakeOps);
    if (rng() % 2) kq_counters_close(&c, &kFakeOps);
    EXPECT_EQ(fake.closes, fake.opens);
    for (auto* fc : fake.all) EXPECT_EQ(fc->closes, fc->failed ? 0u : 1u);
    EXPECT_EQ(fake.bad, 0u) << "a failed or closed handle was used";
    EXPECT_EQ(c.nr, 0u);
    for (auto* h : c.handle) EXPECT_EQ(h, nullptr);
    g_fake = nullptr;
    if (HasFailure()) break;
  }
}

}  // namespace
