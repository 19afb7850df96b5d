// SPDX-License-Identifier: GPL-2.0
// Parsing of kvm_quanta netlink messages and of the kernel's error replies.
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/attr.h>

#include <cstring>
#include <string>

#include "kq_nl.hpp"

extern "C" {
#include "exit_kind.h"
}

namespace kq::nl {

// From src/core (kq_exit_kind_name), the module's own spelling.
const std::array<std::string_view, kExitKinds> kExitKindNames = [] {
  std::array<std::string_view, kExitKinds> n;
  for (size_t i = 0; i < kExitKinds; ++i) n[i] = kq_exit_kind_name(static_cast<unsigned>(i));
  return n;
}();
const std::array<std::string_view, kPmuRoles> kPmuRoleNames = {
    "cycles",
    "instructions",
    "llc_misses",
    "branch_misses",
};

static_assert(KVM_QUANTA_EV_NR == 4, "update kPmuRoleNames");

namespace {

// One attribute of the family: its spec name and its exact payload size
// (0: a nest), or with array set a whole number (at least 1) of elements of
// that size.  Index = attribute type; the libnl policies are built from
// these, and so is the message that says which attribute was wrong.
struct AttrSpec {
  const char* name = nullptr;
  uint16_t size = 0;
  bool array = false;

  bool Fits(int len) const { return array ? len >= size && len % size == 0 : len == size; }
};

constexpr uint16_t kU32 = 4, kU64 = 8;

const std::array<AttrSpec, KVM_QUANTA_A_MAX + 1>& TopSpecs() {
  static const auto specs = [] {
    std::array<AttrSpec, KVM_QUANTA_A_MAX + 1> a{};
    a[KVM_QUANTA_A_SEQ] = {"seq", kU64};
    a[KVM_QUANTA_A_TIME_NS] = {"time-ns", kU64};
    a[KVM_QUANTA_A_DROPS] = {"drops", kU64};
    a[KVM_QUANTA_A_INTERVAL_MS] = {"interval-ms", kU32};
    a[KVM_QUANTA_A_MODE] = {"mode", kU32};
    a[KVM_QUANTA_A_VCPU] = {"vcpu", 0};
    a[KVM_QUANTA_A_NR_VCPUS] = {"nr-vcpus", kU32};
    return a;
  }();
  return specs;
}

const std::array<AttrSpec, KVM_QUANTA_V_MAX + 1>& VcpuSpecs() {
  static const auto specs = [] {
    std::array<AttrSpec, KVM_QUANTA_V_MAX + 1> a{};
    a[KVM_QUANTA_V_VM_ID] = {"vcpu.vm-id", kU64};
    a[KVM_QUANTA_V_PID] = {"vcpu.pid", kU32};
    a[KVM_QUANTA_V_VCPU_IDX] = {"vcpu.vcpu-idx", kU32};
    a[KVM_QUANTA_V_TID] = {"vcpu.tid", kU32};
    a[KVM_QUANTA_V_WINDOW_NS] = {"vcpu.window-ns", kU64};
    a[KVM_QUANTA_V_GUEST_NS] = {"vcpu.guest-ns", kU64};
    a[KVM_QUANTA_V_EXITS] = {"vcpu.exits", kU64};
    a[KVM_QUANTA_V_EXIT_KINDS] = {"vcpu.exit-kinds", kU64 * kExitKinds};
    a[KVM_QUANTA_V_RUN_NS] = {"vcpu.run-ns", kU64};
    a[KVM_QUANTA_V_WAIT_NS] = {"vcpu.wait-ns", kU64};
    a[KVM_QUANTA_V_SLICES] = {"vcpu.slices", kU64};
    a[KVM_QUANTA_V_HALT_NS] = {"vcpu.halt-ns", kU64};
    a[KVM_QUANTA_V_CPU] = {"vcpu.cpu", kU32};
    a[KVM_QUANTA_V_PMU] = {"vcpu.pmu", kU64 * kPmuRoles};
    a[KVM_QUANTA_V_IPC_MILLI] = {"vcpu.ipc-milli", kU32};
    a[KVM_QUANTA_V_LLC_MPKI_MILLI] = {"vcpu.llc-mpki-milli", kU32};
    a[KVM_QUANTA_V_BR_MPKI_MILLI] = {"vcpu.br-mpki-milli", kU32};
    a[KVM_QUANTA_V_EXIT_RATE_MILLI] = {"vcpu.exit-rate-milli", kU64};
    a[KVM_QUANTA_V_MEAN_RUN_NS] = {"vcpu.mean-run-ns", kU64};
    a[KVM_QUANTA_V_QUANTUM_NS] = {"vcpu.quantum-ns", kU64};
    a[KVM_QUANTA_V_TARGET_NS] = {"vcpu.target-ns", kU64};
    a[KVM_QUANTA_V_REASON] = {"vcpu.reason", kU32};
    a[KVM_QUANTA_V_DEBT_NS] = {"vcpu.debt-ns", kU64};
    // Indexed by reason, which may grow: any whole number of u64.
    a[KVM_QUANTA_V_DECISIONS] = {"vcpu.decisions", kU64, true};
    a[KVM_QUANTA_V_GUEST_NS_BY_CPU] = {"vcpu.guest-ns-by-cpu", sizeof(kvm_quanta_cpu_ns), true};
    return a;
  }();
  return specs;
}

// libnl's policy for specs: every known attribute exactly its size.
template <size_t N>
std::array<nla_policy, N> PolicyOf(const std::array<AttrSpec, N>& specs) {
  std::array<nla_policy, N> pol{};
  for (size_t i = 0; i < N; ++i) {
    if (!specs[i].name) continue;
    if (specs[i].size == 0) {
      pol[i].type = NLA_NESTED;
    } else {
      pol[i].type = NLA_UNSPEC;
      pol[i].minlen = specs[i].size;
      pol[i].maxlen = specs[i].array ? 0 : specs[i].size;  // 0: no limit
    }
  }
  return pol;
}

// Parses the attribute stream at data into tb with libnl's nla_parse()
// and the policy of specs.  nla_parse() ignores trailing bytes that do not
// make an attribute; a truncated stream is refused here.  On failure
// *error names the first attribute of the wrong size.
template <size_t N>
bool ParseStream(const void* data, size_t len, const std::array<AttrSpec, N>& specs,
                 std::array<nlattr*, N>* tb, const char* where, std::string* error) {
  static_assert(N > 0);
  auto* head = static_cast<nlattr*>(const_cast<void*>(data));
  const int ilen = static_cast<int>(len);
  nlattr* pos;
  int rem = ilen;
  nla_for_each_attr(pos, head, ilen, rem) {}
  if (rem > 0) {
    *error = std::string(where) + "truncated attribute";
    return false;
  }
  static const std::array<nla_policy, N> policy = PolicyOf(specs);
  tb->fill(nullptr);
  // libnl checks the sizes' bounds; exact sizes and arrays' whole numbers of
  // elements are checked here.
  const auto bad = [&](nlattr* a) {
    const int type = nla_type(a);
    if (type < 0 || static_cast<size_t>(type) >= N || !specs[type].name || !specs[type].size)
      return false;
    if (specs[type].Fits(nla_len(a))) return false;
    *error = std::string(specs[type].name) + ": " + std::to_string(nla_len(a)) +
             " bytes, expected " + std::to_string(specs[type].size) +
             (specs[type].array ? " x n, n >= 1" : "");
    return true;
  };
  if (nla_parse(tb->data(), static_cast<int>(N - 1), head, ilen, policy.data()) == 0) {
    for (size_t i = 0; i < N; ++i)
      if ((*tb)[i] && bad((*tb)[i])) return false;
    return true;
  }
  nla_for_each_attr(pos, head, ilen, rem) {
    if (bad(pos)) return false;
  }
  *error = std::string(where) + "malformed attribute";
  return false;
}

template <typename T>
void Get(const nlattr* a, T* out) {
  std::memcpy(out, nla_data(a), sizeof(T));
}

template <typename T>
void GetOpt(const nlattr* a, std::optional<T>* out) {
  if (!a) return;
  T v;
  Get(a, &v);
  *out = v;
}

template <size_t N>
std::array<uint64_t, N> GetU64s(const nlattr* a) {
  std::array<uint64_t, N> v;
  std::memcpy(v.data(), nla_data(a), sizeof(v));  // 4-byte aligned on the wire
  return v;
}

bool ParseVcpu(const nlattr* nest, VcpuSample* v, std::string* error) {
  std::array<nlattr*, KVM_QUANTA_V_MAX + 1> tb;
  if (!ParseStream(nla_data(nest), static_cast<size_t>(nla_len(nest)), VcpuSpecs(), &tb,
                   "vcpu: ", error))
    return false;
  if (!tb[KVM_QUANTA_V_VM_ID] || !tb[KVM_QUANTA_V_PID] || !tb[KVM_QUANTA_V_VCPU_IDX] ||
      !tb[KVM_QUANTA_V_TID]) {
    *error = "vcpu: identity (vm-id, pid, vcpu-idx, tid) incomplete";
    return false;
  }
  Get(tb[KVM_QUANTA_V_VM_ID], &v->vm_id);
  Get(tb[KVM_QUANTA_V_PID], &v->pid);
  Get(tb[KVM_QUANTA_V_VCPU_IDX], &v->vcpu_idx);
  Get(tb[KVM_QUANTA_V_TID], &v->tid);
  GetOpt(tb[KVM_QUANTA_V_CPU], &v->cpu);
  GetOpt(tb[KVM_QUANTA_V_WINDOW_NS], &v->window_ns);
  GetOpt(tb[KVM_QUANTA_V_GUEST_NS], &v->guest_ns);
  GetOpt(tb[KVM_QUANTA_V_EXITS], &v->exits);
  if (tb[KVM_QUANTA_V_EXIT_KINDS]) v->exit_kinds = GetU64s<kExitKinds>(tb[KVM_QUANTA_V_EXIT_KINDS]);
  GetOpt(tb[KVM_QUANTA_V_RUN_NS], &v->run_ns);
  GetOpt(tb[KVM_QUANTA_V_WAIT_NS], &v->wait_ns);
  GetOpt(tb[KVM_QUANTA_V_SLICES], &v->slices);
  GetOpt(tb[KVM_QUANTA_V_HALT_NS], &v->halt_ns);
  if (tb[KVM_QUANTA_V_PMU]) {
    const auto raw = GetU64s<kPmuRoles>(tb[KVM_QUANTA_V_PMU]);
    std::array<std::optional<uint64_t>, kPmuRoles> pmu;
    for (size_t i = 0; i < kPmuRoles; ++i)
      if (raw[i] != UINT64_MAX) pmu[i] = raw[i];
    v->pmu = pmu;
  }
  GetOpt(tb[KVM_QUANTA_V_IPC_MILLI], &v->ipc_milli);
  GetOpt(tb[KVM_QUANTA_V_LLC_MPKI_MILLI], &v->llc_mpki_milli);
  GetOpt(tb[KVM_QUANTA_V_BR_MPKI_MILLI], &v->br_mpki_milli);
  GetOpt(tb[KVM_QUANTA_V_EXIT_RATE_MILLI], &v->exit_rate_milli);
  GetOpt(tb[KVM_QUANTA_V_MEAN_RUN_NS], &v->mean_run_ns);
  GetOpt(tb[KVM_QUANTA_V_QUANTUM_NS], &v->quantum_ns);
  GetOpt(tb[KVM_QUANTA_V_TARGET_NS], &v->target_ns);
  if (tb[KVM_QUANTA_V_REASON]) {
    uint32_t r;
    Get(tb[KVM_QUANTA_V_REASON], &r);
    // A reason newer than this reader (a newer module): unknown, not wrong.
    if (r < kReasonCount) v->reason = r;
  }
  GetOpt(tb[KVM_QUANTA_V_DEBT_NS], &v->debt_ns);
  if (const nlattr* a = tb[KVM_QUANTA_V_DECISIONS]) {
    // The reasons this reader knows; an older module's fewer are zero.
    std::array<uint64_t, kReasonCount> d{};
    const size_t n = std::min(d.size(), static_cast<size_t>(nla_len(a)) / kU64);
    std::memcpy(d.data(), nla_data(a), n * kU64);  // 4-byte aligned on the wire
    v->decisions = d;
  }
  if (const nlattr* a = tb[KVM_QUANTA_V_GUEST_NS_BY_CPU]) {
    std::vector<VcpuSample::CpuNs> by_cpu;
    const auto* p = static_cast<const uint8_t*>(nla_data(a));
    for (int off = 0; off < nla_len(a); off += static_cast<int>(sizeof(kvm_quanta_cpu_ns))) {
      kvm_quanta_cpu_ns c;
      std::memcpy(&c, p + off, sizeof(c));  // 4-byte aligned on the wire
      by_cpu.push_back({c.cpu, c.ns});
    }
    v->guest_ns_by_cpu = std::move(by_cpu);
  }
  return true;
}

}  // namespace

bool ParseAttrs(const void* data, size_t len, Message* out, std::string* error) {
  std::array<nlattr*, KVM_QUANTA_A_MAX + 1> tb;
  if (!ParseStream(data, len, TopSpecs(), &tb, "", error)) return false;
  GetOpt(tb[KVM_QUANTA_A_SEQ], &out->seq);
  GetOpt(tb[KVM_QUANTA_A_TIME_NS], &out->time_ns);
  GetOpt(tb[KVM_QUANTA_A_DROPS], &out->drops);
  GetOpt(tb[KVM_QUANTA_A_INTERVAL_MS], &out->interval_ms);
  GetOpt(tb[KVM_QUANTA_A_MODE], &out->mode);
  GetOpt(tb[KVM_QUANTA_A_NR_VCPUS], &out->nr_vcpus);
  // vcpu repeats: nla_parse keeps the last; take them all in order.
  auto* head = static_cast<nlattr*>(const_cast<void*>(data));
  nlattr* pos;
  int rem;
  nla_for_each_attr(pos, head, static_cast<int>(len), rem) {
    if (nla_type(pos) != KVM_QUANTA_A_VCPU) continue;
    VcpuSample v;
    if (!ParseVcpu(pos, &v, error)) return false;
    out->vcpus.push_back(v);
  }
  return true;
}

bool ParseGenlMessage(const void* data, size_t len, Message* out, std::string* error) {
  nlmsghdr h;
  if (len < NLMSG_HDRLEN + GENL_HDRLEN) {
    *error = "message shorter than its headers";
    return false;
  }
  std::memcpy(&h, data, sizeof(h));
  if (h.nlmsg_len > len || h.nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN) {
    *error = "bad nlmsg_len";
    return false;
  }
  genlmsghdr g;
  const char* base = static_cast<const char*>(data);
  std::memcpy(&g, base + NLMSG_HDRLEN, sizeof(g));
  out->cmd = g.cmd;
  return ParseAttrs(base + NLMSG_HDRLEN + GENL_HDRLEN, h.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN,
                    out, error);
}

std::string ModeName(uint32_t mode) {
  switch (mode) {
    case 0:
      return "observe";
    case 1:
      return "enforce";
    default:
      return std::to_string(mode);
  }
}

namespace {

std::string TopAttrName(uint16_t type) {
  if (type < TopSpecs().size() && TopSpecs()[type].name) return TopSpecs()[type].name;
  return "attribute " + std::to_string(type);
}

}  // namespace

std::string DescribeNlError(const void* data, size_t len, int* err_out) {
  const char* base = static_cast<const char*>(data);
  nlmsghdr h;
  nlmsgerr e;
  if (len < NLMSG_HDRLEN + sizeof(e)) {
    if (err_out) *err_out = EPROTO;
    return "truncated error reply";
  }
  std::memcpy(&h, base, sizeof(h));
  std::memcpy(&e, base + NLMSG_HDRLEN, sizeof(e));
  const int err = -e.error;
  if (err_out) *err_out = err;
  std::string text = std::strerror(err);
  if (!(h.nlmsg_flags & NLM_F_ACK_TLVS)) return text;

  // The TLVs follow struct nlmsgerr, and the request's payload unless the
  // reply is capped.
  size_t off = NLMSG_HDRLEN + sizeof(e);
  if (!(h.nlmsg_flags & NLM_F_CAPPED)) off += NLMSG_ALIGN(e.msg.nlmsg_len) - NLMSG_HDRLEN;
  const size_t end = std::min<size_t>(len, h.nlmsg_len);
  if (off >= end) return text;

  std::string msg, attr;
  std::optional<uint64_t> umin, umax;
  std::optional<int64_t> smin, smax;
  // A malformed TLV area leaves the errno text alone.
  static const auto err_policy = [] {
    std::array<nla_policy, NLMSGERR_ATTR_MAX + 1> pol{};
    pol[NLMSGERR_ATTR_MSG].type = NLA_UNSPEC;
    pol[NLMSGERR_ATTR_OFFS] = {NLA_U32, 4, 4};
    pol[NLMSGERR_ATTR_POLICY].type = NLA_NESTED;
    return pol;
  }();
  static const auto range_policy = [] {
    std::array<nla_policy, NL_POLICY_TYPE_ATTR_MAX + 1> pol{};
    for (int t : {NL_POLICY_TYPE_ATTR_MIN_VALUE_U, NL_POLICY_TYPE_ATTR_MAX_VALUE_U,
                  NL_POLICY_TYPE_ATTR_MIN_VALUE_S, NL_POLICY_TYPE_ATTR_MAX_VALUE_S})
      pol[t] = {NLA_UNSPEC, 8, 8};
    return pol;
  }();
  std::array<nlattr*, NLMSGERR_ATTR_MAX + 1> tb{};
  if (nla_parse(tb.data(), NLMSGERR_ATTR_MAX,
                reinterpret_cast<nlattr*>(const_cast<char*>(base + off)),
                static_cast<int>(end - off), err_policy.data()) != 0)
    return text;
  if (const nlattr* m = tb[NLMSGERR_ATTR_MSG])
    msg.assign(static_cast<const char*>(nla_data(m)),
               strnlen(static_cast<const char*>(nla_data(m)), static_cast<size_t>(nla_len(m))));
  if (const nlattr* a = tb[NLMSGERR_ATTR_OFFS]) {
    uint32_t o;
    Get(a, &o);
    // The offset is into the request; its attribute header tells the type.
    const size_t at = NLMSG_HDRLEN + sizeof(e.error) + o;
    if (!(h.nlmsg_flags & NLM_F_CAPPED) && o + sizeof(nlattr) <= e.msg.nlmsg_len &&
        at + sizeof(nlattr) <= end) {
      nlattr req;
      std::memcpy(&req, base + at, sizeof(req));
      attr = TopAttrName(req.nla_type & NLA_TYPE_MASK);
    } else {
      attr = "at offset " + std::to_string(o);
    }
  }
  std::array<nlattr*, NL_POLICY_TYPE_ATTR_MAX + 1> pt{};
  if (tb[NLMSGERR_ATTR_POLICY] &&
      nla_parse_nested(pt.data(), NL_POLICY_TYPE_ATTR_MAX, tb[NLMSGERR_ATTR_POLICY],
                       range_policy.data()) == 0) {
    GetOpt(pt[NL_POLICY_TYPE_ATTR_MIN_VALUE_U], &umin);
    GetOpt(pt[NL_POLICY_TYPE_ATTR_MAX_VALUE_U], &umax);
    GetOpt(pt[NL_POLICY_TYPE_ATTR_MIN_VALUE_S], &smin);
    GetOpt(pt[NL_POLICY_TYPE_ATTR_MAX_VALUE_S], &smax);
  }
  if (!msg.empty()) text += ": " + msg;
  std::string detail;
  if (!attr.empty()) detail = "attribute " + attr;
  if (umin && umax) {
    detail += (detail.empty() ? "" : ", ") + std::string("valid range ") + std::to_string(*umin) +
              ".." + std::to_string(*umax);
  } else if (smin && smax) {
    detail += (detail.empty() ? "" : ", ") + std::string("valid range ") + std::to_string(*smin) +
              ".." + std::to_string(*smax);
  }
  if (!detail.empty()) text += " (" + detail + ")";
  return text;
}

}  // namespace kq::nl
