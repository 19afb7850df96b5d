// SPDX-License-Identifier: GPL-2.0
// The kvm_quanta netlink client: libnl-genl-3 for the socket, family
// resolution and building requests; replies are read and parsed here so
// that ENOBUFS and the kernel's extended ACK are seen as they are.
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "kq_nl.hpp"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace kq::nl {

namespace {

constexpr size_t kRecvBuf = 256 * 1024;
constexpr int kSamplesRcvBuf = 4 << 20;

std::string LibnlError(const char* what, int err) {
  return std::string(what) + ": " + nl_geterror(err);
}

}  // namespace

Client::~Client() {
  if (sock_) nl_socket_free(sock_);
}

std::unique_ptr<Client> Client::Connect(std::string* error) {
  std::unique_ptr<Client> c(new Client());
  c->buf_.resize(kRecvBuf);
  c->sock_ = nl_socket_alloc();
  if (!c->sock_) {
    *error = "nl_socket_alloc failed";
    return nullptr;
  }
  nl_socket_disable_auto_ack(c->sock_);
  if (int err = genl_connect(c->sock_); err < 0) {
    *error = LibnlError("genl_connect", err);
    return nullptr;
  }
  const int one = 1;
  // Best effort: kernels without extended ACK just send no message.
  setsockopt(nl_socket_get_fd(c->sock_), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
  c->family_id_ = genl_ctrl_resolve(c->sock_, KVM_QUANTA_GENL_NAME);
  if (c->family_id_ < 0) {
    *error = "generic netlink family " KVM_QUANTA_GENL_NAME
             " not found (is kvm_quanta loaded? this network namespace is not the host's?)";
    return nullptr;
  }
  c->group_id_ = genl_ctrl_resolve_grp(c->sock_, KVM_QUANTA_GENL_NAME, KVM_QUANTA_MCGRP_SAMPLES);
  if (c->group_id_ < 0) {
    *error = LibnlError("multicast group " KVM_QUANTA_MCGRP_SAMPLES, c->group_id_);
    return nullptr;
  }
  return c;
}

bool Client::Transact(uint8_t cmd, bool dump, const std::function<void(struct nl_msg*)>& put,
                      std::vector<Message>* replies, std::string* error, int* err) {
  if (err) *err = 0;
  std::unique_ptr<nl_msg, void (*)(nl_msg*)> msg(nlmsg_alloc(), nlmsg_free);
  if (!msg) {
    *error = "nlmsg_alloc failed";
    return false;
  }
  if (!genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family_id_, 0,
                   dump ? NLM_F_DUMP : NLM_F_ACK, cmd, KVM_QUANTA_GENL_VERSION)) {
    *error = "genlmsg_put failed";
    return false;
  }
  if (put) put(msg.get());
  if (int e = nl_send_auto(sock_, msg.get()); e < 0) {
    *error = LibnlError("send", e);
    return false;
  }
  const uint32_t seq = nlmsg_hdr(msg.get())->nlmsg_seq;
  const int fd = nl_socket_get_fd(sock_);
  while (true) {
    const ssize_t n = recv(fd, buf_.data(), buf_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::string("recv: ") + std::strerror(errno);
      if (err) *err = errno;
      return false;
    }
    size_t rem = static_cast<size_t>(n);
    const char* p = buf_.data();
    while (rem >= NLMSG_HDRLEN) {
      nlmsghdr h;
      std::memcpy(&h, p, sizeof(h));
      if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > rem) {
        *error = "malformed reply";
        return false;
      }
      if (h.nlmsg_seq == seq) {
        if (h.nlmsg_type == NLMSG_ERROR) {
          int e = 0;
          std::string text = DescribeNlError(p, h.nlmsg_len, &e);
          if (e == 0) return true;  // the ACK
          *error = text;
          if (err) *err = e;
          return false;
        }
        if (h.nlmsg_type == NLMSG_DONE) {
          int32_t status = 0;
          if (h.nlmsg_len >= NLMSG_HDRLEN + sizeof(status))
            std::memcpy(&status, p + NLMSG_HDRLEN, sizeof(status));
          if (status < 0) {
            *error = std::strerror(-status);
            if (err) *err = -status;
            return false;
          }
          return true;
        }
        if (h.nlmsg_type == family_id_) {
          Message m;
          std::string why;
          if (!ParseGenlMessage(p, h.nlmsg_len, &m, &why)) {
            *error = "bad reply: " + why;
            return false;
          }
          // A do's reply is followed by the ACK it asked for.
          replies->push_back(std::move(m));
        }
      }
      const size_t step = NLMSG_ALIGN(h.nlmsg_len);
      if (step >= rem) break;
      p += step;
      rem -= step;
    }
  }
}

std::optional<Config> Client::GetConfig(std::string* error) {
  std::vector<Message> replies;
  if (!Transact(KVM_QUANTA_CMD_GET_CONFIG, false, nullptr, &replies, error, nullptr))
    return std::nullopt;
  for (const Message& m : replies) {
    if (m.cmd != KVM_QUANTA_CMD_GET_CONFIG) continue;
    if (!m.interval_ms || !m.mode) {
      *error = "GET_CONFIG reply without interval-ms or mode";
      return std::nullopt;
    }
    return Config{*m.interval_ms, *m.mode, m.drops.value_or(0)};
  }
  *error = "no GET_CONFIG reply";
  return std::nullopt;
}

bool Client::SetConfig(std::optional<uint32_t> interval_ms, std::optional<uint32_t> mode,
                       std::string* error, int* err) {
  std::vector<Message> replies;
  return Transact(
      KVM_QUANTA_CMD_SET_CONFIG, false,
      [&](nl_msg* msg) {
        if (interval_ms) nla_put_u32(msg, KVM_QUANTA_A_INTERVAL_MS, *interval_ms);
        if (mode) nla_put_u32(msg, KVM_QUANTA_A_MODE, *mode);
      },
      &replies, error, err);
}

std::optional<std::vector<VcpuSample>> Client::DumpState(std::string* error) {
  std::vector<Message> replies;
  if (!Transact(KVM_QUANTA_CMD_GET_STATE, true, nullptr, &replies, error, nullptr))
    return std::nullopt;
  std::vector<VcpuSample> out;
  for (Message& m : replies)
    for (VcpuSample& v : m.vcpus) out.push_back(v);
  return out;
}

bool Client::Subscribe(std::string* error) {
  const int fd = nl_socket_get_fd(sock_);
  // A window of many vCPUs is a burst of messages: make room.  As root the
  // limit (net.core.rmem_max) does not apply.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kSamplesRcvBuf, sizeof(kSamplesRcvBuf)) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSamplesRcvBuf, sizeof(kSamplesRcvBuf));
  if (int e = nl_socket_add_membership(sock_, group_id_); e < 0) {
    *error = LibnlError("joining group " KVM_QUANTA_MCGRP_SAMPLES, e);
    return false;
  }
  return true;
}

int Client::Receive(int timeout_ms, const std::function<void(const Message&)>& fn,
                    std::string* error) {
  const int fd = nl_socket_get_fd(sock_);
  pollfd pfd{fd, POLLIN, 0};
  const int r = poll(&pfd, 1, timeout_ms);
  if (r < 0) {
    if (errno == EINTR) return 0;
    *error = std::string("poll: ") + std::strerror(errno);
    return -1;
  }
  if (r == 0) return 0;
  while (true) {
    const ssize_t n = recv(fd, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        ++enobufs_;
        continue;
      }
      *error = std::string("recv: ") + std::strerror(errno);
      return -1;
    }
    DispatchNotifications(buf_.data(), static_cast<size_t>(n), family_id_, fn, &bad_);
  }
}

void DispatchNotifications(const void* data, size_t len, int family_id,
                           const std::function<void(const Message&)>& fn, BadNotifications* bad) {
  size_t rem = len;
  const char* p = static_cast<const char*>(data);
  while (rem >= NLMSG_HDRLEN) {
    nlmsghdr h;
    std::memcpy(&h, p, sizeof(h));
    if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > rem) {
      ++bad->count;
      bad->last = "bad nlmsg_len";
      return;
    }
    if (h.nlmsg_type == family_id) {
      Message m;
      std::string why;
      // One malformed notification costs its window, not the subscription.
      if (!ParseGenlMessage(p, h.nlmsg_len, &m, &why)) {
        ++bad->count;
        bad->last = why;
      } else if (m.cmd == KVM_QUANTA_CMD_SAMPLES) {
        fn(m);
      }
    }
    const size_t step = NLMSG_ALIGN(h.nlmsg_len);
    if (step >= rem) break;
    p += step;
    rem -= step;
  }
}

}  // namespace kq::nl
