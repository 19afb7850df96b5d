// SPDX-License-Identifier: GPL-2.0
// The metrics server: serves /metrics, reports why it cannot listen, and
// stops at any moment, also right after Start (issue 12, defect 1: a
// SIGTERM during startup hung quantad in join()).
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>

#include "metrics_server.hpp"

namespace kq::quantad {
namespace {

TEST(MetricsServer, ServesMetrics) {
  MetricsServer s([] { return std::string("quantad_vms 3\n"); });
  std::string err;
  ASSERT_TRUE(s.Start("127.0.0.1", 0, &err)) << err;
  httplib::Client c("127.0.0.1", s.port());
  auto res = c.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "quantad_vms 3\n");
  s.Stop();
}

TEST(MetricsServer, StopRightAfterStartReturns) {
  // Without the fix nearly every iteration loses the stop; the deadline
  // only bounds a hang, it is not a timing assumption of the test.
  for (int i = 0; i < 100; ++i) {
    auto s = std::make_shared<MetricsServer>([] { return std::string(); });
    std::string err;
    ASSERT_TRUE(s->Start("127.0.0.1", 0, &err)) << err;
    auto stopped = std::async(std::launch::async, [s] { s->Stop(); });
    if (stopped.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ADD_FAILURE() << "Stop() right after Start() hung (iteration " << i << ")";
      std::_Exit(1);  // the hung thread cannot be joined
    }
  }
}

TEST(MetricsServer, CannotListenSaysWhy) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  MetricsServer s([] { return std::string(); });
  std::string err;
  EXPECT_FALSE(s.Start("127.0.0.1", ntohs(a.sin_port), &err));
  EXPECT_NE(err.find("Address already in use"), std::string::npos) << err;
  close(fd);
}

}  // namespace
}  // namespace kq::quantad
