#include "json_report.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace kq {
namespace {

TEST(JsonEscape, EscapesSpecials) {
  EXPECT_EQ(JsonEscape("plain io:1000"), "plain io:1000");
  EXPECT_EQ(JsonEscape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(JsonEscape("l1\nl2\tx\r"), "l1\\nl2\\tx\\r");
  EXPECT_EQ(JsonEscape(std::string("\x01\x1f", 2)), "\\u0001\\u001f");
  EXPECT_EQ(JsonEscape("\xc3\xa9"), "\xc3\xa9");  // UTF-8 passes through
}

TEST(ReportToJson, EmptyReport) {
  Report r;
  r.pid = 42;
  EXPECT_EQ(ReportToJson(r), "{\"pid\":42,\"vms\":[]}");
}

TEST(ReportToJson, Structure) {
  Report r;
  r.pid = 7;
  VcpuReport v;
  v.index = 1;
  v.tid = 1234;
  v.program = "io:\"2\"";
  v.exits.io = 2000;
  v.exits.hlt = 1;
  v.exits.io_data = 2000;
  v.guest_iterations = 2000;
  v.run_ms = 15;
  v.kvm_run_calls = 2003;
  v.kvm_run_retries = 2;
  v.schedstat = {100, 200, 3};
  r.vms.push_back(VmReport{0, {v}});
  r.vms.push_back(VmReport{1, {}});
  EXPECT_EQ(ReportToJson(r),
            "{\"pid\":7,\"vms\":[{\"index\":0,\"vcpus\":[{\"index\":1,\"tid\":1234,"
            "\"program\":\"io:\\\"2\\\"\","
            "\"userspace_exits\":{\"io\":2000,\"hlt\":1,\"total\":2001},"
            "\"io_by_port\":{\"data\":2000,\"done\":0,\"tick\":0},"
            "\"guest_iterations\":2000,\"run_ms\":15,\"kvm_run_calls\":2003,"
            "\"kvm_run_retries\":2,"
            "\"schedstat\":{\"run_ns\":100,\"wait_ns\":200,\"timeslices\":3}}]},"
            "{\"index\":1,\"vcpus\":[]}]}");
}

TEST(ReportToJson, SwitchedAndClosedVcpu) {
  Report r;
  VcpuReport v;
  v.tid = 20;
  v.first_tid = 10;
  v.closed = true;
  r.vms.push_back(VmReport{0, {v}});
  const std::string json = ReportToJson(r);
  EXPECT_NE(json.find("\"timeslices\":0},\"first_tid\":10,\"closed\":true}"), std::string::npos)
      << json;
  r.vms[0].vcpus[0].first_tid = 0;
  r.vms[0].vcpus[0].closed = false;
  EXPECT_EQ(ReportToJson(r).find("first_tid"), std::string::npos);
  EXPECT_EQ(ReportToJson(r).find("closed"), std::string::npos);
}

TEST(TenthsOfUs, Rounds) {
  EXPECT_EQ(TenthsOfUs(0), "0.0");
  EXPECT_EQ(TenthsOfUs(49), "0.0");
  EXPECT_EQ(TenthsOfUs(50), "0.1");
  EXPECT_EQ(TenthsOfUs(12349), "12.3");
  EXPECT_EQ(TenthsOfUs(12350), "12.4");
  EXPECT_EQ(TenthsOfUs(1'000'000'000), "1000000.0");
  EXPECT_EQ(TenthsOfUs(-1500), "-1.5");
  EXPECT_EQ(TenthsOfUs(-40), "0.0");
}

TEST(ReportToJson, IrqLatency) {
  Report r;
  VcpuReport v;
  v.program = "irq:2000";
  v.exits.io = 3;
  v.exits.io_answer = 3;
  v.latency = IrqLatency{{30'000, 10'049, 20'050}, 2};
  r.vms.push_back(VmReport{0, {v}});
  const std::string json = ReportToJson(r);
  EXPECT_NE(json.find("\"io_by_port\":{\"data\":0,\"done\":0,\"tick\":0,\"answer\":3}"),
            std::string::npos)
      << json;
  // Last in the vCPU object; samples in the order given (order of raise), not sorted.
  EXPECT_NE(json.find("\"timeslices\":0},\"latency\":{\"count\":3,\"missed\":2,"
                      "\"p50_us\":20.1,\"p99_us\":30.0,\"p999_us\":30.0,\"max_us\":30.0,"
                      "\"mean_us\":20.0,\"samples_us\":[30.0,10.0,20.1]}}]}]}"),
            std::string::npos)
      << json;
}

TEST(ReportToJson, IrqWithoutSamples) {
  Report r;
  VcpuReport v;
  v.latency = IrqLatency{{}, 0};
  r.vms.push_back(VmReport{0, {v}});
  EXPECT_NE(ReportToJson(r).find("\"latency\":{\"count\":0,\"missed\":0,\"p50_us\":null,"
                                 "\"p99_us\":null,\"p999_us\":null,\"max_us\":null,"
                                 "\"mean_us\":null,\"samples_us\":[]}"),
            std::string::npos)
      << ReportToJson(r);
  // Without latency (every other program) no answer count and no latency object.
  r.vms[0].vcpus[0].latency.reset();
  EXPECT_EQ(ReportToJson(r).find("answer"), std::string::npos);
  EXPECT_EQ(ReportToJson(r).find("latency"), std::string::npos);
}

TEST(ReportToJson, LargeNumbers) {
  Report r;
  VcpuReport v;
  v.schedstat.run_ns = 18446744073709551615ull;
  r.vms.push_back(VmReport{0, {v}});
  EXPECT_NE(ReportToJson(r).find("\"run_ns\":18446744073709551615"), std::string::npos);
}

TEST(WriteFileAtomically, WritesAndLeavesNoTmp) {
  char dir[] = "/tmp/kq-testvmm-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/report.json";
  std::string error;
  ASSERT_TRUE(WriteFileAtomically(path, "{\"a\":1}\n", &error)) << error;
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "{\"a\":1}\n");
  EXPECT_NE(access((path + ".tmp").c_str(), F_OK), 0);
  EXPECT_FALSE(WriteFileAtomically(std::string(dir) + "/missing/r.json", "x", &error));
  EXPECT_NE(error.find("missing/r.json.tmp"), std::string::npos) << error;
  unlink(path.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace kq
