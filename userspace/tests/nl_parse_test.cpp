// SPDX-License-Identifier: GPL-2.0
// The kvm_quanta netlink parser (userspace/nl): messages built with libnl's
// nla_put the way the kernel builds them, parsed back; malformed ones
// rejected; the kernel's error replies described; windows reassembled.
#include <gtest/gtest.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "json.hpp"
#include "kq_nl.hpp"
#include "window.hpp"

namespace {

using kq::nl::Message;
using kq::nl::VcpuSample;

constexpr int kFamily = 0x20;

using MsgPtr = std::unique_ptr<nl_msg, void (*)(nl_msg*)>;

MsgPtr NewMsg(uint8_t cmd = KVM_QUANTA_CMD_SAMPLES) {
  MsgPtr m(nlmsg_alloc(), nlmsg_free);
  genlmsg_put(m.get(), 0, 1, kFamily, 0, 0, cmd, KVM_QUANTA_GENL_VERSION);
  return m;
}

void PutHeader(nl_msg* m, uint64_t seq, uint32_t nr) {
  nla_put_u64(m, KVM_QUANTA_A_SEQ, seq);
  nla_put_u64(m, KVM_QUANTA_A_TIME_NS, 123456789);
  nla_put_u64(m, KVM_QUANTA_A_DROPS, 2);
  nla_put_u32(m, KVM_QUANTA_A_NR_VCPUS, nr);
}

// The identity and the base deltas, as the kernel always sends them.
void PutBase(nl_msg* m, uint64_t vm, uint32_t idx) {
  nla_put_u64(m, KVM_QUANTA_V_VM_ID, vm);
  nla_put_u32(m, KVM_QUANTA_V_PID, 1000);
  nla_put_u32(m, KVM_QUANTA_V_VCPU_IDX, idx);
  nla_put_u32(m, KVM_QUANTA_V_TID, 2000 + idx);
  nla_put_u32(m, KVM_QUANTA_V_CPU, 1);
  nla_put_u64(m, KVM_QUANTA_V_WINDOW_NS, 100000000);
  nla_put_u64(m, KVM_QUANTA_V_GUEST_NS, 90000000);
  nla_put_u64(m, KVM_QUANTA_V_EXITS, 55);
  uint64_t kinds[KVM_QUANTA_EXIT_NR] = {};
  for (int i = 0; i < KVM_QUANTA_EXIT_NR; ++i) kinds[i] = i * 10;
  nla_put(m, KVM_QUANTA_V_EXIT_KINDS, sizeof(kinds), kinds);
  nla_put_u64(m, KVM_QUANTA_V_RUN_NS, 95000000);
  nla_put_u64(m, KVM_QUANTA_V_WAIT_NS, 5000000);
  nla_put_u64(m, KVM_QUANTA_V_SLICES, 12);
  nla_put_u64(m, KVM_QUANTA_V_HALT_NS, 0);
}

bool Parse(nl_msg* m, Message* out, std::string* error) {
  nlmsghdr* h = nlmsg_hdr(m);
  return kq::nl::ParseGenlMessage(h, h->nlmsg_len, out, error);
}

// A notification that does not parse is skipped and counted; the ones
// after it in the same receive are still delivered (issue 12, defect 7: it
// used to end the subscription).
TEST(NlParse, DispatchSkipsBadNotifications) {
  auto bad = NewMsg();
  PutHeader(bad.get(), 1, 1);
  nla_put_u32(bad.get(), KVM_QUANTA_A_SEQ, 5);  // u64 attribute sent as 4 bytes
  auto good = NewMsg();
  PutHeader(good.get(), 2, 0);
  std::vector<char> buf;
  for (nl_msg* m : {bad.get(), good.get()}) {
    nlmsghdr* h = nlmsg_hdr(m);
    const char* p = reinterpret_cast<const char*>(h);
    buf.insert(buf.end(), p, p + NLMSG_ALIGN(h->nlmsg_len));
  }
  std::vector<uint64_t> seqs;
  kq::nl::BadNotifications errs;
  kq::nl::DispatchNotifications(
      buf.data(), buf.size(), kFamily, [&](const Message& m) { seqs.push_back(*m.seq); }, &errs);
  EXPECT_EQ(seqs, std::vector<uint64_t>{2});
  EXPECT_EQ(errs.count, 1u);
  EXPECT_NE(errs.last.find("seq"), std::string::npos) << errs.last;
}

TEST(NlParse, FullSample) {
  auto m = NewMsg();
  PutHeader(m.get(), 7, 1);
  nlattr* nest = nla_nest_start(m.get(), KVM_QUANTA_A_VCPU);
  PutBase(m.get(), 3, 5);
  uint64_t pmu[KVM_QUANTA_EV_NR] = {1000, 2000, UINT64_MAX, 4};
  nla_put(m.get(), KVM_QUANTA_V_PMU, sizeof(pmu), pmu);
  nla_put_u32(m.get(), KVM_QUANTA_V_IPC_MILLI, 2000);
  nla_put_u32(m.get(), KVM_QUANTA_V_LLC_MPKI_MILLI, 11);
  nla_put_u32(m.get(), KVM_QUANTA_V_BR_MPKI_MILLI, 22);
  nla_put_u64(m.get(), KVM_QUANTA_V_EXIT_RATE_MILLI, 611);
  nla_put_u64(m.get(), KVM_QUANTA_V_MEAN_RUN_NS, 1636363);
  nla_put_u64(m.get(), KVM_QUANTA_V_QUANTUM_NS, 7916666);
  nla_nest_end(m.get(), nest);

  Message msg;
  std::string err;
  ASSERT_TRUE(Parse(m.get(), &msg, &err)) << err;
  EXPECT_EQ(msg.cmd, KVM_QUANTA_CMD_SAMPLES);
  EXPECT_EQ(msg.seq, 7u);
  EXPECT_EQ(msg.time_ns, 123456789u);
  EXPECT_EQ(msg.drops, 2u);
  EXPECT_EQ(msg.nr_vcpus, 1u);
  ASSERT_EQ(msg.vcpus.size(), 1u);
  const VcpuSample& v = msg.vcpus[0];
  EXPECT_EQ(v.vm_id, 3u);
  EXPECT_EQ(v.pid, 1000u);
  EXPECT_EQ(v.vcpu_idx, 5u);
  EXPECT_EQ(v.tid, 2005u);
  EXPECT_EQ(v.cpu, 1u);
  EXPECT_EQ(v.window_ns, 100000000u);
  EXPECT_EQ(v.guest_ns, 90000000u);
  EXPECT_EQ(v.exits, 55u);
  ASSERT_TRUE(v.exit_kinds);
  EXPECT_EQ((*v.exit_kinds)[KVM_QUANTA_EXIT_OTHER], 90u);
  EXPECT_EQ(v.run_ns, 95000000u);
  EXPECT_EQ(v.wait_ns, 5000000u);
  EXPECT_EQ(v.slices, 12u);
  EXPECT_EQ(v.halt_ns, 0u);
  ASSERT_TRUE(v.pmu);
  EXPECT_EQ((*v.pmu)[KVM_QUANTA_EV_CYCLES], 1000u);
  EXPECT_EQ((*v.pmu)[KVM_QUANTA_EV_INSTRUCTIONS], 2000u);
  EXPECT_FALSE((*v.pmu)[KVM_QUANTA_EV_LLC_MISSES]);
  EXPECT_EQ((*v.pmu)[KVM_QUANTA_EV_BRANCH_MISSES], 4u);
  EXPECT_EQ(v.ipc_milli, 2000u);
  EXPECT_EQ(v.llc_mpki_milli, 11u);
  EXPECT_EQ(v.br_mpki_milli, 22u);
  EXPECT_EQ(v.exit_rate_milli, 611u);
  EXPECT_EQ(v.mean_run_ns, 1636363u);
  EXPECT_EQ(v.quantum_ns, 7916666u);
}

TEST(NlParse, AbsentDerivedValuesStayEmpty) {
  auto m = NewMsg();
  PutHeader(m.get(), 1, 2);
  for (uint32_t idx = 0; idx < 2; ++idx) {
    nlattr* nest = nla_nest_start(m.get(), KVM_QUANTA_A_VCPU);
    PutBase(m.get(), 9, idx);
    nla_nest_end(m.get(), nest);
  }
  Message msg;
  std::string err;
  ASSERT_TRUE(Parse(m.get(), &msg, &err)) << err;
  ASSERT_EQ(msg.vcpus.size(), 2u);
  for (const VcpuSample& v : msg.vcpus) {
    EXPECT_FALSE(v.pmu);
    EXPECT_FALSE(v.ipc_milli);
    EXPECT_FALSE(v.llc_mpki_milli);
    EXPECT_FALSE(v.br_mpki_milli);
    EXPECT_FALSE(v.exit_rate_milli);
    EXPECT_FALSE(v.mean_run_ns);
    EXPECT_FALSE(v.quantum_ns);
    EXPECT_TRUE(v.exits);
  }
  EXPECT_EQ(msg.vcpus[1].vcpu_idx, 1u);
  const std::string j = kq::nl::SampleToJson(msg.vcpus[0]).dump();
  EXPECT_EQ(j.find("ipc_milli"), std::string::npos) << j;
  EXPECT_NE(j.find("\"exit_kinds\":{\"io\":0,\"mmio\":10,"), std::string::npos) << j;
}

// The policy's view travels with the sample; quantad no longer reads it
// from sysfs.
TEST(NlParse, PolicyAttributes) {
  auto m = NewMsg();
  PutHeader(m.get(), 9, 1);
  nlattr* nest = nla_nest_start(m.get(), KVM_QUANTA_A_VCPU);
  PutBase(m.get(), 2, 0);
  nla_put_u64(m.get(), KVM_QUANTA_V_TARGET_NS, 2'500'000);
  nla_put_u32(m.get(), KVM_QUANTA_V_REASON, KVM_QUANTA_R_EXIT_HEAVY);
  nla_put_s64(m.get(), KVM_QUANTA_V_DEBT_NS, -150'000);
  uint64_t dec[KVM_QUANTA_R_NR] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  nla_put(m.get(), KVM_QUANTA_V_DECISIONS, sizeof(dec), dec);
  nla_nest_end(m.get(), nest);
  Message msg;
  std::string err;
  ASSERT_TRUE(Parse(m.get(), &msg, &err)) << err;
  const VcpuSample& v = msg.vcpus.at(0);
  EXPECT_EQ(v.target_ns, 2'500'000u);
  EXPECT_EQ(v.reason, uint32_t{KVM_QUANTA_R_EXIT_HEAVY});
  EXPECT_EQ(v.debt_ns, -150'000);
  ASSERT_TRUE(v.decisions);
  EXPECT_EQ((*v.decisions)[7], 8u);
  const auto j = kq::nl::SampleToJson(v);
  EXPECT_EQ(j["reason"], "exit_heavy");
  EXPECT_EQ(j["decisions"]["idle"], 8);
  EXPECT_EQ(j["decisions"]["latency"], 9);
  auto back = kq::nl::SampleFromJson(nlohmann::json::parse(j.dump()), &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->reason, v.reason);
  EXPECT_EQ(back->debt_ns, v.debt_ns);
  EXPECT_EQ(back->decisions, v.decisions);

  // A newer module: a reason this reader does not know is left out, and
  // decisions beyond the ones it knows are dropped.
  auto newer = NewMsg();
  PutHeader(newer.get(), 9, 1);
  nest = nla_nest_start(newer.get(), KVM_QUANTA_A_VCPU);
  PutBase(newer.get(), 2, 0);
  nla_put_u32(newer.get(), KVM_QUANTA_V_REASON, KVM_QUANTA_R_NR);
  uint64_t more[KVM_QUANTA_R_NR + 3];
  for (size_t i = 0; i < std::size(more); i++) more[i] = 100 + i;
  nla_put(newer.get(), KVM_QUANTA_V_DECISIONS, sizeof(more), more);
  nla_nest_end(newer.get(), nest);
  Message from_newer;
  ASSERT_TRUE(Parse(newer.get(), &from_newer, &err)) << err;
  EXPECT_FALSE(from_newer.vcpus.at(0).reason);
  ASSERT_TRUE(from_newer.vcpus.at(0).decisions);
  EXPECT_EQ((*from_newer.vcpus.at(0).decisions)[0], 100u);
  EXPECT_EQ((*from_newer.vcpus.at(0).decisions)[KVM_QUANTA_R_NR - 1], 100u + KVM_QUANTA_R_NR - 1);
  // An older module: fewer reasons, the missing ones zero.
  auto older = NewMsg();
  PutHeader(older.get(), 9, 1);
  nest = nla_nest_start(older.get(), KVM_QUANTA_A_VCPU);
  PutBase(older.get(), 2, 0);
  nla_put(older.get(), KVM_QUANTA_V_DECISIONS, sizeof(dec) - 8, dec);
  nla_nest_end(older.get(), nest);
  Message from_older;
  ASSERT_TRUE(Parse(older.get(), &from_older, &err)) << err;
  ASSERT_TRUE(from_older.vcpus.at(0).decisions);
  EXPECT_EQ((*from_older.vcpus.at(0).decisions)[KVM_QUANTA_R_NR - 2], dec[KVM_QUANTA_R_NR - 2]);
  EXPECT_EQ((*from_older.vcpus.at(0).decisions)[KVM_QUANTA_R_NR - 1], 0u);
  // Not a whole number of u64: refused, with the attribute's name.
  auto torn = NewMsg();
  PutHeader(torn.get(), 9, 1);
  nest = nla_nest_start(torn.get(), KVM_QUANTA_A_VCPU);
  PutBase(torn.get(), 2, 0);
  nla_put(torn.get(), KVM_QUANTA_V_DECISIONS, 12, dec);
  nla_nest_end(torn.get(), nest);
  EXPECT_FALSE(Parse(torn.get(), &msg, &err));
  EXPECT_NE(err.find("vcpu.decisions"), std::string::npos) << err;
}

// Guest time by CPU: a whole number of 16-byte elements, at least one, any
// number (a later module may keep more CPUs per vCPU).
TEST(NlParse, GuestNsByCpu) {
  const kvm_quanta_cpu_ns by_cpu[6] = {{3, 0, 40'000'000}, {0, 0, 50'000'000}, {1, 0, 1},
                                       {2, 0, 2},          {5, 0, 5},          {6, 0, 6}};
  auto put = [&](int len) {
    auto m = NewMsg();
    PutHeader(m.get(), 9, 1);
    nlattr* nest = nla_nest_start(m.get(), KVM_QUANTA_A_VCPU);
    PutBase(m.get(), 2, 0);
    nla_put(m.get(), KVM_QUANTA_V_GUEST_NS_BY_CPU, len, by_cpu);
    nla_nest_end(m.get(), nest);
    return m;
  };
  Message msg;
  std::string err;
  auto two = put(2 * sizeof(kvm_quanta_cpu_ns));
  ASSERT_TRUE(Parse(two.get(), &msg, &err)) << err;
  const std::vector<VcpuSample::CpuNs> want = {{3, 40'000'000}, {0, 50'000'000}};
  EXPECT_EQ(msg.vcpus.at(0).guest_ns_by_cpu, want);
  auto back = kq::nl::SampleFromJson(
      nlohmann::json::parse(kq::nl::SampleToJson(msg.vcpus.at(0)).dump()), &err);
  ASSERT_TRUE(back) << err;
  EXPECT_EQ(back->guest_ns_by_cpu, want);
  auto six = put(6 * sizeof(kvm_quanta_cpu_ns));
  Message msg6;
  ASSERT_TRUE(Parse(six.get(), &msg6, &err)) << err;
  ASSERT_EQ(msg6.vcpus.at(0).guest_ns_by_cpu->size(), 6u);
  EXPECT_EQ(msg6.vcpus.at(0).guest_ns_by_cpu->back().ns, 6u);
  for (int len : {0, 8, 17, 24, 5 * 16 + 1}) {
    Message bad;
    auto m = put(len);
    EXPECT_FALSE(Parse(m.get(), &bad, &err)) << len;
    EXPECT_NE(err.find("vcpu.guest-ns-by-cpu: " + std::to_string(len) +
                       " bytes, expected 16 x n, n >= 1"),
              std::string::npos)
        << err;
  }
}

TEST(NlParse, HeaderOnlyWindowAndUnknownAttributes) {
  auto m = NewMsg();
  PutHeader(m.get(), 4, 0);
  nla_put_u32(m.get(), 200, 1);  // newer than us: ignored
  Message msg;
  std::string err;
  ASSERT_TRUE(Parse(m.get(), &msg, &err)) << err;
  EXPECT_EQ(msg.nr_vcpus, 0u);
  EXPECT_TRUE(msg.vcpus.empty());
}

TEST(NlParse, WrongSizeExitKindsRejected) {
  auto m = NewMsg();
  PutHeader(m.get(), 1, 1);
  nlattr* nest = nla_nest_start(m.get(), KVM_QUANTA_A_VCPU);
  nla_put_u64(m.get(), KVM_QUANTA_V_VM_ID, 1);
  nla_put_u32(m.get(), KVM_QUANTA_V_PID, 1);
  nla_put_u32(m.get(), KVM_QUANTA_V_VCPU_IDX, 0);
  nla_put_u32(m.get(), KVM_QUANTA_V_TID, 1);
  uint64_t kinds[KVM_QUANTA_EXIT_NR - 1] = {};
  nla_put(m.get(), KVM_QUANTA_V_EXIT_KINDS, sizeof(kinds), kinds);
  nla_nest_end(m.get(), nest);
  Message msg;
  std::string err;
  EXPECT_FALSE(Parse(m.get(), &msg, &err));
  EXPECT_NE(err.find("exit-kinds: 72 bytes, expected 80"), std::string::npos) << err;
}

TEST(NlParse, WrongSizePmuRejected) {
  auto m = NewMsg();
  PutHeader(m.get(), 1, 1);
  nlattr* nest = nla_nest_start(m.get(), KVM_QUANTA_A_VCPU);
  PutBase(m.get(), 1, 0);
  uint64_t pmu[KVM_QUANTA_EV_NR + 1] = {};
  nla_put(m.get(), KVM_QUANTA_V_PMU, sizeof(pmu), pmu);
  nla_nest_end(m.get(), nest);
  Message msg;
  std::string err;
  EXPECT_FALSE(Parse(m.get(), &msg, &err));
  EXPECT_NE(err.find("pmu"), std::string::npos) << err;
}

TEST(NlParse, WrongSizeIntegerRejected) {
  auto m = NewMsg();
  nla_put_u32(m.get(), KVM_QUANTA_A_SEQ, 1);  // a u64 attribute
  Message msg;
  std::string err;
  EXPECT_FALSE(Parse(m.get(), &msg, &err));
  EXPECT_NE(err.find("seq: 4 bytes, expected 8"), std::string::npos) << err;
}

TEST(NlParse, MissingIdentityRejected) {
  auto m = NewMsg();
  PutHeader(m.get(), 1, 1);
  nlattr* nest = nla_nest_start(m.get(), KVM_QUANTA_A_VCPU);
  nla_put_u64(m.get(), KVM_QUANTA_V_EXITS, 1);
  nla_nest_end(m.get(), nest);
  Message msg;
  std::string err;
  EXPECT_FALSE(Parse(m.get(), &msg, &err));
  EXPECT_NE(err.find("identity"), std::string::npos) << err;
}

TEST(NlParse, TruncatedBufferRejected) {
  auto m = NewMsg();
  PutHeader(m.get(), 1, 1);
  nlattr* nest = nla_nest_start(m.get(), KVM_QUANTA_A_VCPU);
  PutBase(m.get(), 1, 0);
  nla_nest_end(m.get(), nest);
  nlmsghdr* h = nlmsg_hdr(m.get());
  // Cut the message in the middle of the nest: the nest's length now runs
  // past the end.
  std::vector<char> cut(reinterpret_cast<char*>(h), reinterpret_cast<char*>(h) + h->nlmsg_len - 30);
  nlmsghdr ch;
  std::memcpy(&ch, cut.data(), sizeof(ch));
  ch.nlmsg_len = cut.size();
  std::memcpy(cut.data(), &ch, sizeof(ch));
  Message msg;
  std::string err;
  EXPECT_FALSE(kq::nl::ParseGenlMessage(cut.data(), cut.size(), &msg, &err));
  EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  // And a buffer shorter than the message says.
  EXPECT_FALSE(kq::nl::ParseGenlMessage(h, h->nlmsg_len - 4, &msg, &err));
}

// An NLMSG_ERROR as the kernel sends it for a value outside the policy's
// range: the request echoed, then the extack TLVs.
TEST(NlError, ExtackDescribed) {
  auto req = NewMsg(KVM_QUANTA_CMD_SET_CONFIG);
  nla_put_u32(req.get(), KVM_QUANTA_A_INTERVAL_MS, 5);
  nlmsghdr* rh = nlmsg_hdr(req.get());
  const uint32_t attr_off = NLMSG_HDRLEN + GENL_HDRLEN;

  MsgPtr err_msg(nlmsg_alloc_simple(NLMSG_ERROR, NLM_F_ACK_TLVS), nlmsg_free);
  nlmsgerr* e = static_cast<nlmsgerr*>(
      nlmsg_reserve(err_msg.get(), sizeof(int) + rh->nlmsg_len, NLMSG_ALIGNTO));
  e->error = -EINVAL;
  std::memcpy(&e->msg, rh, rh->nlmsg_len);
  nla_put_string(err_msg.get(), NLMSGERR_ATTR_MSG, "integer out of range");
  nla_put_u32(err_msg.get(), NLMSGERR_ATTR_OFFS, attr_off);
  nlattr* pol = nla_nest_start(err_msg.get(), NLMSGERR_ATTR_POLICY);
  nla_put_u32(err_msg.get(), NL_POLICY_TYPE_ATTR_TYPE, NL_ATTR_TYPE_U32);
  nla_put_u64(err_msg.get(), NL_POLICY_TYPE_ATTR_MIN_VALUE_U, 10);
  nla_put_u64(err_msg.get(), NL_POLICY_TYPE_ATTR_MAX_VALUE_U, 10000);
  nla_nest_end(err_msg.get(), pol);

  nlmsghdr* h = nlmsg_hdr(err_msg.get());
  int errnum = 0;
  const std::string text = kq::nl::DescribeNlError(h, h->nlmsg_len, &errnum);
  EXPECT_EQ(errnum, EINVAL);
  EXPECT_EQ(text,
            "Invalid argument: integer out of range (attribute interval-ms, valid range "
            "10..10000)");
}

TEST(NlError, PlainErrno) {
  MsgPtr err_msg(nlmsg_alloc_simple(NLMSG_ERROR, 0), nlmsg_free);
  nlmsgerr* e =
      static_cast<nlmsgerr*>(nlmsg_reserve(err_msg.get(), sizeof(nlmsgerr), NLMSG_ALIGNTO));
  std::memset(e, 0, sizeof(*e));
  e->error = -EPERM;
  nlmsghdr* h = nlmsg_hdr(err_msg.get());
  int errnum = 0;
  EXPECT_EQ(kq::nl::DescribeNlError(h, h->nlmsg_len, &errnum), "Operation not permitted");
  EXPECT_EQ(errnum, EPERM);
}

Message Part(uint64_t seq, uint32_t nr, std::vector<uint32_t> idxs) {
  Message m;
  m.cmd = KVM_QUANTA_CMD_SAMPLES;
  m.seq = seq;
  m.nr_vcpus = nr;
  m.drops = 0;
  for (uint32_t i : idxs) {
    VcpuSample v;
    v.vm_id = 1;
    v.vcpu_idx = i;
    m.vcpus.push_back(v);
  }
  return m;
}

TEST(NlWindow, Reassembly) {
  std::vector<kq::nl::Window> out;
  kq::nl::WindowTracker t([&](const kq::nl::Window& w) { out.push_back(w); });
  t.Add(Part(10, 3, {2}));     // joined mid-window: not counted
  t.Add(Part(11, 3, {0, 1}));  // split over two messages
  EXPECT_TRUE(t.open());
  t.Add(Part(11, 3, {2}));
  EXPECT_FALSE(t.open());
  t.Add(Part(12, 3, {0}));        // loses its other messages...
  t.Add(Part(14, 3, {0, 1, 2}));  // ...and 13 never comes
  t.Add(Part(15, 0, {}));         // no vCPUs: complete at once
  t.Flush();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].seq, 11u);
  EXPECT_EQ(out[0].messages, 2u);
  EXPECT_TRUE(out[0].complete());
  EXPECT_FALSE(out[1].complete());
  const auto& st = t.stats();
  EXPECT_TRUE(st.first_partial);
  EXPECT_EQ(st.windows, 4u);
  EXPECT_EQ(st.complete, 3u);
  EXPECT_EQ(st.incomplete, 1u);
  EXPECT_EQ(st.missed, 1u);
  EXPECT_EQ(st.vcpus.size(), 3u);
}

// kq-nlwatch's arguments (CLI11): usage errors exit 2 before any netlink.
int RunNlwatch(const std::string& args) {
  const std::string cmd = std::string(NLWATCH_BIN) + " " + args + " >/dev/null 2>&1";
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(NlWatchCli, UsageErrors) {
  EXPECT_EQ(RunNlwatch("--help"), 0);
  EXPECT_EQ(RunNlwatch(""), 2);
  EXPECT_EQ(RunNlwatch("frobnicate"), 2);
  EXPECT_EQ(RunNlwatch("watch"), 2);
  EXPECT_EQ(RunNlwatch("watch --seconds 0"), 2);
  EXPECT_EQ(RunNlwatch("watch --seconds 86401"), 2);
  EXPECT_EQ(RunNlwatch("set bogus=1"), 2);
  EXPECT_EQ(RunNlwatch("set interval=x"), 2);
  EXPECT_EQ(RunNlwatch("set mode=observe mode=enforce"), 2);
  EXPECT_EQ(RunNlwatch("dump --bogus"), 2);
}

}  // namespace
