// SPDX-License-Identifier: GPL-2.0
// kvm_quanta generic netlink client: the "kvm_quanta" family's messages as
// C++ structs, their parser, and a small client over libnl-genl-3
// (family and group resolution, subscription, GET_STATE dump, GET_CONFIG,
// SET_CONFIG with the kernel's errno and extack message as an error).
// Documentation/netlink.rst describes the protocol.
#pragma once

#include <linux/kvm_quanta.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct nl_sock;
struct nlattr;

namespace kq::nl {

inline constexpr size_t kExitKinds = KVM_QUANTA_EXIT_NR;
inline constexpr size_t kPmuRoles = KVM_QUANTA_EV_NR;
inline constexpr size_t kReasonCount = KVM_QUANTA_R_NR;
// KVM_QUANTA_A_MODE values.
inline constexpr uint32_t kModeObserve = 0;
inline constexpr uint32_t kModeEnforce = 1;

// Names as in sysfs exit_reasons, index = enum kvm_quanta_exit_kind.
extern const std::array<std::string_view, kExitKinds> kExitKindNames;
// Index = enum kvm_quanta_event.
extern const std::array<std::string_view, kPmuRoles> kPmuRoleNames;

// One vCPU's sample (a KVM_QUANTA_A_VCPU nest).  The identity is required;
// everything else is optional: derived values are absent when the kernel
// had no inputs for them, and a parser must not assume newer fields.
struct VcpuSample {
  uint64_t vm_id = 0;
  uint32_t pid = 0;
  uint32_t vcpu_idx = 0;
  uint32_t tid = 0;
  std::optional<uint32_t> cpu;
  std::optional<uint64_t> window_ns;
  std::optional<uint64_t> guest_ns;
  std::optional<uint64_t> exits;
  std::optional<std::array<uint64_t, kExitKinds>> exit_kinds;
  std::optional<uint64_t> run_ns;
  std::optional<uint64_t> wait_ns;
  std::optional<uint64_t> slices;
  std::optional<uint64_t> halt_ns;
  // Present when at least one role counts; a role not counted is nullopt
  // (U64_MAX on the wire).
  std::optional<std::array<std::optional<uint64_t>, kPmuRoles>> pmu;
  std::optional<uint32_t> ipc_milli;
  std::optional<uint32_t> llc_mpki_milli;
  std::optional<uint32_t> br_mpki_milli;
  std::optional<uint64_t> exit_rate_milli;
  std::optional<uint64_t> mean_run_ns;
  std::optional<uint64_t> quantum_ns;
  // The policy's view (from modules with the policy): the target for the
  // next window, its reason (enum kvm_quanta_reason), the ledger, and the
  // decisions by reason since the vCPU was seen.
  std::optional<uint64_t> target_ns;
  std::optional<uint32_t> reason;
  std::optional<int64_t> debt_ns;
  std::optional<std::array<uint64_t, kReasonCount>> decisions;
  // The window's guest time by the CPU it ran on (at least one element, any
  // number), which the module's ledger splits run and wait time by.
  struct CpuNs {
    uint32_t cpu = 0;
    uint64_t ns = 0;
    bool operator==(const CpuNs&) const = default;
  };
  std::optional<std::vector<CpuNs>> guest_ns_by_cpu;
};

// A message's top-level attributes: a SAMPLES notification (seq, time_ns,
// drops, nr_vcpus and its share of the window's vCPUs) or one GET_STATE
// dump message (nr_vcpus and one vCPU).
struct Message {
  uint8_t cmd = 0;
  std::optional<uint64_t> seq;
  std::optional<uint64_t> time_ns;
  std::optional<uint64_t> drops;
  std::optional<uint32_t> nr_vcpus;
  std::optional<uint32_t> interval_ms;
  std::optional<uint32_t> mode;
  std::vector<VcpuSample> vcpus;
};

struct Config {
  uint32_t interval_ms = 0;
  uint32_t mode = 0;
  uint64_t drops = 0;
};

// Parses a stream of top-level attributes (a genl message's payload after
// the genlmsghdr) with libnl's nla_parse() and a policy per attribute set
// (Documentation/netlink/specs/kvm_quanta.yaml).  Rejects attributes of
// the wrong size (integers exactly 4 or 8 bytes, EXIT_KINDS exactly
// 8 * KVM_QUANTA_EXIT_NR bytes, PMU 8 * KVM_QUANTA_EV_NR, DECISIONS
// 8 * KVM_QUANTA_R_NR), a reason out of range, truncated attributes and
// vCPU nests without their identity; ignores unknown attribute types.  Returns false with
// *error set on failure.
bool ParseAttrs(const void* data, size_t len, Message* out, std::string* error);

// Parses one netlink message (struct nlmsghdr at data) of the family.
bool ParseGenlMessage(const void* data, size_t len, Message* out, std::string* error);

// A kernel error reply (NLMSG_ERROR with error != 0) as text:
// "<strerror>: <extack message> (attribute <name>, valid range lo..hi)".
// data/len cover the whole netlink message.
std::string DescribeNlError(const void* data, size_t len, int* err_out);

std::string ModeName(uint32_t mode);

// Notifications that did not parse: how many, and why the last one failed.
struct BadNotifications {
  uint64_t count = 0;
  std::string last;
};

// Hands every SAMPLES message of family family_id in a receive buffer to
// fn; a message that does not parse is counted in *bad and skipped, the
// ones after it are still delivered.
void DispatchNotifications(const void* data, size_t len, int family_id,
                           const std::function<void(const Message&)>& fn, BadNotifications* bad);

// A netlink socket bound to the family.  Not thread-safe.
class Client {
 public:
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects and resolves the family (and the samples group).
  static std::unique_ptr<Client> Connect(std::string* error);

  int family_id() const { return family_id_; }
  int samples_group() const { return group_id_; }

  // GET_CONFIG.
  std::optional<Config> GetConfig(std::string* error);
  // SET_CONFIG; either may be absent (both absent sends an empty request,
  // which the kernel refuses).  On refusal *error has the kernel's errno
  // text and extack message, and *err the errno.
  bool SetConfig(std::optional<uint32_t> interval_ms, std::optional<uint32_t> mode,
                 std::string* error, int* err = nullptr);
  // GET_STATE dump: the latest sample of every vCPU.
  std::optional<std::vector<VcpuSample>> DumpState(std::string* error);

  // Joins the samples group; afterwards use Receive().
  bool Subscribe(std::string* error);
  // Waits up to timeout_ms for notifications and hands each SAMPLES message
  // to fn.  Returns 0 on timeout or after messages, -1 on error (*error
  // set).  A receive that failed with ENOBUFS (the socket buffer
  // overflowed, messages lost) bumps enobufs() and is not an error; nor is
  // a notification that does not parse: it is skipped and counted in
  // bad_notifications().
  int Receive(int timeout_ms, const std::function<void(const Message&)>& fn, std::string* error);
  uint64_t enobufs() const { return enobufs_; }
  const BadNotifications& bad_notifications() const { return bad_; }

 private:
  Client() = default;
  // Sends a request and collects the replies up to the ACK or NLMSG_DONE.
  bool Transact(uint8_t cmd, bool dump, const std::function<void(struct nl_msg*)>& put,
                std::vector<Message>* replies, std::string* error, int* err);

  struct nl_sock* sock_ = nullptr;
  int family_id_ = -1;
  int group_id_ = -1;
  uint64_t enobufs_ = 0;
  BadNotifications bad_;
  std::vector<char> buf_;
};

}  // namespace kq::nl
