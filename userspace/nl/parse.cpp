// SPDX-License-Identifier: GPL-2.0
// Parsing of kvm_quanta netlink messages and of the kernel's error replies.
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <cstring>
#include <string>

#include "kq_nl.hpp"

namespace kq::nl {

const std::array<std::string_view, kExitKinds> kExitKindNames = {
    "io",        "mmio",       "hlt",        "intr",      "npf",
    "hypercall", "irq_window", "nmi_window", "emulation", "other",
};
const std::array<std::string_view, kPmuRoles> kPmuRoleNames = {
    "cycles",
    "instructions",
    "llc_misses",
    "branch_misses",
};

static_assert(KVM_QUANTA_EXIT_NR == 10, "update kExitKindNames");
static_assert(KVM_QUANTA_EV_NR == 4, "update kPmuRoleNames");

namespace {

// Walks a stream of netlink attributes; fails on a truncated one.
class AttrWalker {
 public:
  AttrWalker(const void* data, size_t len) : p_(static_cast<const char*>(data)), rem_(len) {}

  // Next attribute, or false at the end (check ok() for why).
  bool Next(uint16_t* type, const char** payload, size_t* len) {
    if (rem_ == 0) return false;
    nlattr a;
    if (rem_ < sizeof(a)) return Fail();
    std::memcpy(&a, p_, sizeof(a));
    if (a.nla_len < NLA_HDRLEN || a.nla_len > rem_) return Fail();
    *type = a.nla_type & NLA_TYPE_MASK;
    *payload = p_ + NLA_HDRLEN;
    *len = a.nla_len - NLA_HDRLEN;
    const size_t step = NLA_ALIGN(a.nla_len);
    if (step >= rem_) {
      rem_ = 0;
    } else {
      p_ += step;
      rem_ -= step;
    }
    return true;
  }
  bool ok() const { return ok_; }

 private:
  bool Fail() {
    ok_ = false;
    rem_ = 0;
    return false;
  }
  const char* p_;
  size_t rem_;
  bool ok_ = true;
};

template <typename T>
bool GetInt(std::string_view name, const char* p, size_t len, T* out, std::string* error) {
  if (len != sizeof(T)) {
    *error = std::string(name) + ": " + std::to_string(len) + " bytes, expected " +
             std::to_string(sizeof(T));
    return false;
  }
  std::memcpy(out, p, sizeof(T));
  return true;
}

template <typename T>
bool GetOpt(std::string_view name, const char* p, size_t len, std::optional<T>* out,
            std::string* error) {
  T v;
  if (!GetInt(name, p, len, &v, error)) return false;
  *out = v;
  return true;
}

template <size_t N>
bool GetU64Array(std::string_view name, const char* p, size_t len, std::array<uint64_t, N>* out,
                 std::string* error) {
  if (len != N * sizeof(uint64_t)) {
    *error = std::string(name) + ": " + std::to_string(len) + " bytes, expected " +
             std::to_string(N * sizeof(uint64_t));
    return false;
  }
  std::memcpy(out->data(), p, len);  // 4-byte aligned on the wire
  return true;
}

bool ParseVcpu(const char* data, size_t len, VcpuSample* v, std::string* error) {
  AttrWalker w(data, len);
  uint16_t type;
  const char* p;
  size_t n;
  bool have_vm = false, have_pid = false, have_idx = false, have_tid = false;
  while (w.Next(&type, &p, &n)) {
    bool ok = true;
    switch (type) {
      case KVM_QUANTA_V_VM_ID:
        ok = GetInt("vcpu.vm-id", p, n, &v->vm_id, error);
        have_vm = true;
        break;
      case KVM_QUANTA_V_PID:
        ok = GetInt("vcpu.pid", p, n, &v->pid, error);
        have_pid = true;
        break;
      case KVM_QUANTA_V_VCPU_IDX:
        ok = GetInt("vcpu.vcpu-idx", p, n, &v->vcpu_idx, error);
        have_idx = true;
        break;
      case KVM_QUANTA_V_TID:
        ok = GetInt("vcpu.tid", p, n, &v->tid, error);
        have_tid = true;
        break;
      case KVM_QUANTA_V_CPU:
        ok = GetOpt("vcpu.cpu", p, n, &v->cpu, error);
        break;
      case KVM_QUANTA_V_WINDOW_NS:
        ok = GetOpt("vcpu.window-ns", p, n, &v->window_ns, error);
        break;
      case KVM_QUANTA_V_GUEST_NS:
        ok = GetOpt("vcpu.guest-ns", p, n, &v->guest_ns, error);
        break;
      case KVM_QUANTA_V_EXITS:
        ok = GetOpt("vcpu.exits", p, n, &v->exits, error);
        break;
      case KVM_QUANTA_V_EXIT_KINDS: {
        std::array<uint64_t, kExitKinds> k;
        ok = GetU64Array("vcpu.exit-kinds", p, n, &k, error);
        if (ok) v->exit_kinds = k;
        break;
      }
      case KVM_QUANTA_V_RUN_NS:
        ok = GetOpt("vcpu.run-ns", p, n, &v->run_ns, error);
        break;
      case KVM_QUANTA_V_WAIT_NS:
        ok = GetOpt("vcpu.wait-ns", p, n, &v->wait_ns, error);
        break;
      case KVM_QUANTA_V_SLICES:
        ok = GetOpt("vcpu.slices", p, n, &v->slices, error);
        break;
      case KVM_QUANTA_V_HALT_NS:
        ok = GetOpt("vcpu.halt-ns", p, n, &v->halt_ns, error);
        break;
      case KVM_QUANTA_V_PMU: {
        std::array<uint64_t, kPmuRoles> raw;
        ok = GetU64Array("vcpu.pmu", p, n, &raw, error);
        if (ok) {
          std::array<std::optional<uint64_t>, kPmuRoles> pmu;
          for (size_t i = 0; i < kPmuRoles; ++i)
            if (raw[i] != UINT64_MAX) pmu[i] = raw[i];
          v->pmu = pmu;
        }
        break;
      }
      case KVM_QUANTA_V_IPC_MILLI:
        ok = GetOpt("vcpu.ipc-milli", p, n, &v->ipc_milli, error);
        break;
      case KVM_QUANTA_V_LLC_MPKI_MILLI:
        ok = GetOpt("vcpu.llc-mpki-milli", p, n, &v->llc_mpki_milli, error);
        break;
      case KVM_QUANTA_V_BR_MPKI_MILLI:
        ok = GetOpt("vcpu.br-mpki-milli", p, n, &v->br_mpki_milli, error);
        break;
      case KVM_QUANTA_V_EXIT_RATE_MILLI:
        ok = GetOpt("vcpu.exit-rate-milli", p, n, &v->exit_rate_milli, error);
        break;
      case KVM_QUANTA_V_MEAN_RUN_NS:
        ok = GetOpt("vcpu.mean-run-ns", p, n, &v->mean_run_ns, error);
        break;
      case KVM_QUANTA_V_QUANTUM_NS:
        ok = GetOpt("vcpu.quantum-ns", p, n, &v->quantum_ns, error);
        break;
      default:  // padding, or newer than us
        break;
    }
    if (!ok) return false;
  }
  if (!w.ok()) {
    *error = "vcpu: truncated attribute";
    return false;
  }
  if (!have_vm || !have_pid || !have_idx || !have_tid) {
    *error = "vcpu: identity (vm-id, pid, vcpu-idx, tid) incomplete";
    return false;
  }
  return true;
}

}  // namespace

bool ParseAttrs(const void* data, size_t len, Message* out, std::string* error) {
  AttrWalker w(data, len);
  uint16_t type;
  const char* p;
  size_t n;
  while (w.Next(&type, &p, &n)) {
    bool ok = true;
    switch (type) {
      case KVM_QUANTA_A_SEQ:
        ok = GetOpt("seq", p, n, &out->seq, error);
        break;
      case KVM_QUANTA_A_TIME_NS:
        ok = GetOpt("time-ns", p, n, &out->time_ns, error);
        break;
      case KVM_QUANTA_A_DROPS:
        ok = GetOpt("drops", p, n, &out->drops, error);
        break;
      case KVM_QUANTA_A_INTERVAL_MS:
        ok = GetOpt("interval-ms", p, n, &out->interval_ms, error);
        break;
      case KVM_QUANTA_A_MODE:
        ok = GetOpt("mode", p, n, &out->mode, error);
        break;
      case KVM_QUANTA_A_NR_VCPUS:
        ok = GetOpt("nr-vcpus", p, n, &out->nr_vcpus, error);
        break;
      case KVM_QUANTA_A_VCPU: {
        VcpuSample v;
        ok = ParseVcpu(p, n, &v, error);
        if (ok) out->vcpus.push_back(v);
        break;
      }
      default:
        break;
    }
    if (!ok) return false;
  }
  if (!w.ok()) {
    *error = "truncated attribute";
    return false;
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
  switch (type) {
    case KVM_QUANTA_A_SEQ:
      return "seq";
    case KVM_QUANTA_A_TIME_NS:
      return "time-ns";
    case KVM_QUANTA_A_DROPS:
      return "drops";
    case KVM_QUANTA_A_INTERVAL_MS:
      return "interval-ms";
    case KVM_QUANTA_A_MODE:
      return "mode";
    case KVM_QUANTA_A_VCPU:
      return "vcpu";
    case KVM_QUANTA_A_NR_VCPUS:
      return "nr-vcpus";
    default:
      return "attribute " + std::to_string(type);
  }
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
  AttrWalker w(base + off, end - off);
  uint16_t type;
  const char* p;
  size_t n;
  while (w.Next(&type, &p, &n)) {
    if (type == NLMSGERR_ATTR_MSG) {
      msg.assign(p, strnlen(p, n));
    } else if (type == NLMSGERR_ATTR_OFFS && n == 4) {
      uint32_t o;
      std::memcpy(&o, p, 4);
      // The offset is into the request; its attribute header tells the type.
      const size_t at = NLMSG_HDRLEN + sizeof(e.error) + o;
      if (!(h.nlmsg_flags & NLM_F_CAPPED) && o + sizeof(nlattr) <= e.msg.nlmsg_len &&
          at + sizeof(nlattr) <= end) {
        nlattr a;
        std::memcpy(&a, base + at, sizeof(a));
        attr = TopAttrName(a.nla_type & NLA_TYPE_MASK);
      } else {
        attr = "at offset " + std::to_string(o);
      }
    } else if (type == NLMSGERR_ATTR_POLICY) {
      AttrWalker pw(p, n);
      uint16_t pt;
      const char* pp;
      size_t pn;
      while (pw.Next(&pt, &pp, &pn)) {
        if (pn != 8) continue;
        if (pt == NL_POLICY_TYPE_ATTR_MIN_VALUE_U) umin = 0, std::memcpy(&*umin, pp, 8);
        if (pt == NL_POLICY_TYPE_ATTR_MAX_VALUE_U) umax = 0, std::memcpy(&*umax, pp, 8);
        if (pt == NL_POLICY_TYPE_ATTR_MIN_VALUE_S) smin = 0, std::memcpy(&*smin, pp, 8);
        if (pt == NL_POLICY_TYPE_ATTR_MAX_VALUE_S) smax = 0, std::memcpy(&*smax, pp, 8);
      }
    }
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
