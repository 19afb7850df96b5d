// SPDX-License-Identifier: GPL-2.0
// kq_bpf: tid list parsing, labels and JSON; and, where BPF can be loaded
// (root, BTF), the program itself against threads of this process.
#include "quanta_tracer.hpp"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

namespace kq::bpfq {
namespace {

TEST(ParseTidList, Good) {
  std::vector<uint32_t> t;
  std::string err;
  ASSERT_TRUE(ParseTidList("1,22,333", &t, &err)) << err;
  EXPECT_EQ(t, (std::vector<uint32_t>{1, 22, 333}));
  ASSERT_TRUE(ParseTidList("7", &t, &err));
  EXPECT_EQ(t, (std::vector<uint32_t>{7}));
}

TEST(ParseTidList, Bad) {
  std::vector<uint32_t> t;
  std::string err;
  for (const char* s :
       {"", ",", "1,", ",1", "1,,2", "a", "-1", "0", "1 2", "99999999999", "1,1", "2147483648"}) {
    EXPECT_FALSE(ParseTidList(s, &t, &err)) << s;
    EXPECT_FALSE(err.empty());
  }
}

TEST(BucketLabel, PowersOf1024) {
  EXPECT_EQ(BucketLabel(0), "1");
  EXPECT_EQ(BucketLabel(9), "512");
  EXPECT_EQ(BucketLabel(10), "1K");
  EXPECT_EQ(BucketLabel(22), "4M");
  EXPECT_EQ(BucketLabel(30), "1G");
}

TEST(TidQuantaJson, Fields) {
  TidQuanta q;
  q.count = 4;
  q.total_ns = 10'000'000;
  q.max_ns = 4'000'000;
  q.hist[21] = 3;
  q.hist[20] = 1;
  auto j = nlohmann::json::parse(TidQuantaJson(42, q));
  EXPECT_EQ(j["tid"], 42);
  EXPECT_EQ(j["mean_ns"], 2'500'000);
  ASSERT_EQ(j["hist"].size(), 2u);
  EXPECT_EQ(j["hist"][0]["lo_ns"], 1u << 20);
  EXPECT_EQ(j["hist"][1]["count"], 3);
  EXPECT_TRUE(nlohmann::json::parse(TidQuantaJson(1, TidQuanta{}))["mean_ns"].is_null());
}

// Thread CPU time, ns.
uint64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// A thread that runs 2 ms of CPU time then sleeps 3 ms, 50 times: at least
// 50 quanta (more if it was preempted), together at least 100 ms.
TEST(QuantaTracer, MeasuresAThread) {
  std::string err;
  auto tracer = QuantaTracer::Open(&err);
  if (!tracer) GTEST_SKIP() << "BPF not loadable here: " << err;
  std::atomic<pid_t> tid{0};
  std::atomic<bool> go{false};
  std::thread th([&] {
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (int i = 0; i < 50; ++i) {
      const uint64_t until = ThreadCpuNs() + 2'000'000;
      while (ThreadCpuNs() < until) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
  });
  while (tid == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(tracer->AddTid(static_cast<uint32_t>(tid.load()), &err)) << err;
  ASSERT_TRUE(tracer->AddTid(static_cast<uint32_t>(tid.load()), &err)) << err;  // idempotent
  go = true;
  th.join();
  auto q = tracer->Read(static_cast<uint32_t>(tid.load()));
  ASSERT_TRUE(q.has_value());
  // 50 bursts of 2 ms CPU; a stint already running when the tid was added
  // is not seen (no switch-in), so allow for one or two of them.
  EXPECT_GE(q->count, 48u);
  EXPECT_GE(q->total_ns, 95'000'000u);
  EXPECT_LT(q->total_ns, 1'000'000'000u);
  uint64_t in_hist = 0;
  for (uint64_t c : q->hist) in_hist += c;
  EXPECT_EQ(in_hist, q->count);
  EXPECT_EQ(tracer->ReadAll().count(static_cast<uint32_t>(tid.load())), 1u);
  ASSERT_TRUE(tracer->RemoveTid(static_cast<uint32_t>(tid.load()), &err));
  EXPECT_FALSE(tracer->Read(static_cast<uint32_t>(tid.load())).has_value());
}

}  // namespace
}  // namespace kq::bpfq
