#include "cli.hpp"

#include <gtest/gtest.h>

namespace kq {
namespace {

CliResult P(std::vector<std::string> args) { return ParseCli(args); }

TEST(Cli, TwoVmsAndAllOptions) {
  CliResult r = P({"--vm", "io:2000,cpuid:5000", "--vm=hlt:50,compute:300", "--pin", "1",
                   "--report", "/tmp/r.json", "--hold-file", "/tmp/h", "--timeout", "30"});
  ASSERT_TRUE(r.options) << r.error;
  const CliOptions& o = *r.options;
  ASSERT_EQ(o.vms.size(), 2u);
  ASSERT_EQ(o.vms[0].size(), 2u);
  EXPECT_EQ(o.vms[0][0].text, "io:2000");
  EXPECT_EQ(o.vms[0][1].kind, ProgramKind::kCpuid);
  EXPECT_EQ(o.vms[1][0].count, 50u);
  EXPECT_EQ(o.vms[1][1].kind, ProgramKind::kCompute);
  EXPECT_EQ(o.pin_cpu, 1);
  EXPECT_EQ(o.report_path, "/tmp/r.json");
  EXPECT_EQ(o.hold_file, "/tmp/h");
  EXPECT_EQ(o.timeout_sec, 30);
}

TEST(Cli, Defaults) {
  CliResult r = P({"--vm", "io:1"});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_FALSE(r.options->pin_cpu);
  EXPECT_EQ(r.options->timeout_sec, 120);
  EXPECT_TRUE(r.options->report_path.empty());
  EXPECT_TRUE(r.options->hold_file.empty());
}

TEST(Cli, CyclesAndTeardownModes) {
  CliResult r =
      P({"--vm", "iostorm:100", "--cycles", "1000", "--close-during-run", "50", "--switch-thread"});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_EQ(r.options->cycles, 1000);
  EXPECT_EQ(r.options->close_during_run_ms, 50);
  EXPECT_TRUE(r.options->switch_thread);
  EXPECT_FALSE(r.options->mark);
  CliResult m = P({"--vm", "cpuid:100", "--mark"});
  ASSERT_TRUE(m.options) << m.error;
  EXPECT_TRUE(m.options->mark);
  CliResult d = P({"--vm", "io:1"});
  ASSERT_TRUE(d.options);
  EXPECT_EQ(d.options->cycles, 1);
  EXPECT_FALSE(d.options->close_during_run_ms);
  EXPECT_FALSE(d.options->switch_thread);
  EXPECT_FALSE(d.options->mark);
}

TEST(Cli, CyclesAndFlagsRejected) {
  EXPECT_FALSE(P({"--vm", "io:1", "--cycles", "0"}).options);
  EXPECT_FALSE(P({"--vm", "io:1", "--cycles", "1000001"}).options);
  EXPECT_FALSE(P({"--vm", "io:1", "--cycles", "-1"}).options);
  EXPECT_FALSE(P({"--vm", "io:1", "--cycles", "2", "--cycles", "3"}).options);
  EXPECT_FALSE(P({"--vm", "io:1", "--cycles"}).options);
  EXPECT_FALSE(P({"--vm", "io:1", "--switch-thread=1"}).options);
  EXPECT_FALSE(P({"--vm", "io:1", "--mark=1"}).options);
  EXPECT_FALSE(P({"--vm", "io:1", "--mark", "--mark"}).options);
  EXPECT_FALSE(P({"--vm", "io:1", "--close-during-run", "1", "--close-during-run", "1"}).options);
  EXPECT_FALSE(P({"--vm", "io:1", "--close-during-run", "x"}).options);
  EXPECT_FALSE(P({"--vm", "io:1", "--close-during-run"}).options);
}

TEST(Cli, Help) {
  CliResult r = P({"--help"});
  ASSERT_TRUE(r.options);
  EXPECT_TRUE(r.options->help);
}

// Each bad command line is rejected with a message containing `needle`.
void ExpectBad(std::vector<std::string> args, const std::string& needle) {
  CliResult r = ParseCli(args);
  EXPECT_FALSE(r.options.has_value()) << needle;
  EXPECT_NE(r.error.find(needle), std::string::npos) << "error was: " << r.error;
}

TEST(Cli, BadArguments) {
  ExpectBad({}, "at least one --vm");
  ExpectBad({"--pin", "0"}, "at least one --vm");
  ExpectBad({"--vm"}, "--vm: missing value");
  ExpectBad({"--vm", ""}, "--vm: empty program list");
  ExpectBad({"--vm="}, "--vm: empty program list");
  ExpectBad({"--vm", "bogus:1"}, "unknown program 'bogus'");
  ExpectBad({"--vm", "io"}, "missing number");
  ExpectBad({"--vm", "io:"}, "bad number ''");
  ExpectBad({"--vm", "io:0"}, "bad number '0'");
  ExpectBad({"--vm", "io:-5"}, "bad number '-5'");
  ExpectBad({"--vm", "io:99999999999"}, "bad number '99999999999'");
  ExpectBad({"--vm", "io:2147483649"}, "bad number '2147483649'");
  ExpectBad({"--vm", "io:1,,io:2"}, "empty program");
  ExpectBad({"--vm", "io:1,"}, "empty program");
  ExpectBad({"--vm", "io:1", "--pin", "x"}, "--pin 'x'");
  ExpectBad({"--vm", "io:1", "--pin", "-1"}, "--pin '-1'");
  ExpectBad({"--vm", "io:1", "--pin", "1024"}, "--pin '1024'");
  ExpectBad({"--vm", "io:1", "--pin", ""}, "--pin ''");
  ExpectBad({"--vm", "io:1", "--pin"}, "--pin: missing value");
  ExpectBad({"--vm", "io:1", "--pin", "0", "--pin", "1"}, "--pin given twice");
  ExpectBad({"--vm", "io:1", "--timeout", "0"}, "--timeout '0'");
  ExpectBad({"--vm", "io:1", "--timeout", "abc"}, "--timeout 'abc'");
  ExpectBad({"--vm", "io:1", "--report", ""}, "--report: empty path");
  ExpectBad({"--vm", "io:1", "--frobnicate"}, "unknown argument '--frobnicate'");
  ExpectBad({"--vm", "io:1", "extra"}, "unknown argument 'extra'");
  std::string many = "io:1";
  for (int i = 1; i < kMaxVcpusPerVm + 1; ++i) many += ",io:1";
  ExpectBad({"--vm", many}, "more than 64 vCPUs");
}

TEST(Cli, IrqAndInjectorOptions) {
  CliResult r = P({"--pin", "1", "--injector-cpu", "0", "--seed", "18446744073709551615", "--vm",
                   "irq:3000", "--vm", "compute:3000", "--vm", "irq:100:10:20,compute:100"});
  ASSERT_TRUE(r.options) << r.error;
  const CliOptions& o = *r.options;
  EXPECT_EQ(o.pin_cpu, 1);
  EXPECT_EQ(o.injector_cpu, 0);
  EXPECT_EQ(o.seed, 18446744073709551615ull);
  EXPECT_EQ(o.vms[0][0].kind, ProgramKind::kIrq);
  EXPECT_EQ(o.vms[2][0].min_us, 10u);
  EXPECT_EQ(o.vms[2][1].kind, ProgramKind::kCompute);
  CliResult d = P({"--vm", "irq:10"});
  ASSERT_TRUE(d.options) << d.error;
  EXPECT_FALSE(d.options->injector_cpu);
  EXPECT_EQ(d.options->seed, kDefaultIrqSeed);
  ASSERT_TRUE(P({"--vm", "irq:10", "--seed=0"}).options);
  // Other vCPUs of an irq VM: anything that never hlts.
  EXPECT_TRUE(P({"--vm", "irq:10,iostorm:10,cpuidstorm:10,duty:10"}).options);
}

TEST(Cli, IrqRefused) {
  ExpectBad({"--vm", "compute:10,irq:10"}, "irq: only on vCPU 0");
  ExpectBad({"--vm", "compute:10,irq:10"}, "vCPU 1 here");
  ExpectBad({"--vm", "irq:10,irq:10"}, "irq: only on vCPU 0");
  ExpectBad({"--vm", "io:1", "--vm", "io:1,io:1,irq:5"}, "vCPU 2 here");
  ExpectBad({"--vm", "irq:10,hlt:5"}, "'hlt:5' cannot share a VM with irq:");
  ExpectBad({"--vm", "irq:10,io:5"}, "'io:5' cannot share a VM with irq:");
  ExpectBad({"--vm", "irq:10,cpuid:5"}, "'cpuid:5' cannot share");
  ExpectBad({"--vm", "irq:10:5"}, "irq:MS:MINUS:MAXUS");
  ExpectBad({"--vm", "irq:10:5:4"}, "MINUS 5 > MAXUS 4");
  ExpectBad({"--vm", "irq:1", "--injector-cpu", "x"}, "--injector-cpu 'x'");
  ExpectBad({"--vm", "irq:1", "--injector-cpu", "1024"}, "--injector-cpu '1024'");
  ExpectBad({"--vm", "irq:1", "--injector-cpu", "-1"}, "--injector-cpu '-1'");
  ExpectBad({"--vm", "irq:1", "--injector-cpu"}, "--injector-cpu: missing value");
  ExpectBad({"--vm", "irq:1", "--injector-cpu", "0", "--injector-cpu=1"},
            "--injector-cpu given twice");
  ExpectBad({"--vm", "irq:1", "--seed", "-1"}, "--seed '-1'");
  ExpectBad({"--vm", "irq:1", "--seed", "18446744073709551616"}, "--seed '18446744073709551616'");
  ExpectBad({"--vm", "irq:1", "--seed", "0x10"}, "--seed '0x10'");
  ExpectBad({"--vm", "irq:1", "--seed", ""}, "--seed ''");
  ExpectBad({"--vm", "irq:1", "--seed", "1", "--seed", "2"}, "--seed given twice");
}

TEST(Cli, Name) {
  // QEMU's spelling, anywhere on the line; only kept, to be seen in /proc/PID/cmdline.
  CliResult r = P({"-name", "guest=web,debug-threads=on", "--vm", "irq:10", "--pin", "1"});
  ASSERT_TRUE(r.options) << r.error;
  EXPECT_EQ(r.options->name, "guest=web,debug-threads=on");
  EXPECT_EQ(r.options->pin_cpu, 1);
  CliResult legacy = P({"--vm", "io:1", "-name", "batch a"});
  ASSERT_TRUE(legacy.options) << legacy.error;
  EXPECT_EQ(legacy.options->name, "batch a");
  ASSERT_TRUE(P({"--vm", "io:1", "-name", std::string(kMaxNameLen, 'x')}).options);
  CliResult none = P({"--vm", "io:1"});
  ASSERT_TRUE(none.options);
  EXPECT_TRUE(none.options->name.empty());
}

TEST(Cli, NameRefused) {
  ExpectBad({"--vm", "io:1", "-name", ""}, "-name: empty value");
  ExpectBad({"--vm", "io:1", "-name"}, "-name: missing value");
  ExpectBad({"--vm", "io:1", "-name", "guest=a", "-name", "guest=b"}, "-name given twice");
  ExpectBad({"--vm", "io:1", "-name", std::string(kMaxNameLen + 1, 'x')}, "longer than 64");
  ExpectBad({"--vm", "io:1", "-name", "web\tfront"}, "-name: not printable");
  ExpectBad({"--vm", "io:1", "-name", "web\n"}, "-name: not printable");
  ExpectBad({"--vm", "io:1", "-name", "caf\xc3\xa9"}, "-name: not printable");
  // Only QEMU's spelling: the value is the next argument.
  ExpectBad({"--vm", "io:1", "-name=guest=web"}, "unknown argument '-name=guest=web'");
  ExpectBad({"--vm", "io:1", "--name", "web"}, "unknown argument '--name'");
  ExpectBad({"-name", "guest=web"}, "at least one --vm");
}

TEST(Cli, UsageMentionsEveryOption) {
  const std::string u = UsageText();
  for (const char* opt : {"--vm", "--pin", "--report", "--hold-file", "--timeout", "--injector-cpu",
                          "--seed", "-name VALUE", "irq:MS[:MINUS:MAXUS]"}) {
    EXPECT_NE(u.find(opt), std::string::npos) << opt;
  }
}

}  // namespace
}  // namespace kq
