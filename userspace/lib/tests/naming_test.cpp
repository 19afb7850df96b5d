// SPDX-License-Identifier: GPL-2.0
#include "naming.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace kq {
namespace {

namespace fs = std::filesystem;

class QuantadFakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/quantad-proc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(uint32_t pid, const std::string& file, const std::string& content) {
    fs::create_directories(root_ + "/" + std::to_string(pid));
    std::ofstream(root_ + "/" + std::to_string(pid) + "/" + file, std::ios::binary) << content;
  }
  static std::string Cmdline(std::initializer_list<std::string> args) {
    std::string s;
    for (const auto& a : args) s += a + std::string(1, '\0');
    return s;
  }
  std::string root_;
};

TEST_F(QuantadFakeProc, QemuGuestName) {
  Write(100, "cmdline",
        Cmdline({"/usr/bin/qemu-system-x86_64", "-name", "guest=web1,debug-threads=on", "-S",
                 "-machine", "pc-q35-7.2"}));
  Write(100, "cgroup", "0::/machine.slice/machine-qemu\\x2d3\\x2dother.scope/libvirt/emulator\n");
  EXPECT_EQ(VmName(root_, 100), "web1");
}

TEST_F(QuantadFakeProc, QemuPlainName) {
  Write(101, "cmdline", Cmdline({"qemu-system-x86_64", "-m", "1G", "-name", "db2"}));
  EXPECT_EQ(VmName(root_, 101), "db2");
  Write(102, "cmdline", Cmdline({"qemu-system-x86_64", "-name", "db3,process=qemu-db3"}));
  EXPECT_EQ(VmName(root_, 102), "db3");
}

TEST_F(QuantadFakeProc, LibvirtCgroup) {
  Write(200, "cmdline", Cmdline({"/usr/bin/qemu-system-x86_64", "-m", "1G"}));
  Write(200, "cgroup", "0::/machine.slice/machine-qemu\\x2d3\\x2dmy\\x2dvm.scope/libvirt/vcpu0\n");
  EXPECT_EQ(VmName(root_, 200), "my-vm");
  // cgroup v1 lines.
  Write(201, "cgroup",
        "12:cpu,cpuacct:/machine.slice/machine-qemu\\x2d12\\x2dweb7.scope\n"
        "1:name=systemd:/machine.slice/machine-qemu\\x2d12\\x2dweb7.scope\n");
  EXPECT_EQ(VmName(root_, 201), "web7");
}

TEST_F(QuantadFakeProc, Fallback) {
  Write(300, "cmdline", Cmdline({"kq-testvmm", "--vm", "compute:100"}));
  Write(300, "cgroup", "0::/user.slice/user-0.slice/session-1.scope\n");
  EXPECT_EQ(VmName(root_, 300), "pid-300");
  EXPECT_EQ(VmName(root_, 301), "pid-301");                         // gone
  Write(302, "cmdline", Cmdline({"qemu-system-x86_64", "-name"}));  // dangling -name
  EXPECT_EQ(VmName(root_, 302), "pid-302");
}

TEST(QuantadNaming, QemuArgs) {
  EXPECT_EQ(NameFromQemuArgs({"q", "-name", "guest=a,,b,debug-threads=on"}), "a,b");
  EXPECT_EQ(NameFromQemuArgs({"q", "-name", "process=p,guest=x"}), "x");
  EXPECT_EQ(NameFromQemuArgs({"q", "--name=guest=y"}), "y");
  EXPECT_EQ(NameFromQemuArgs({"q", "-name", "process=p"}), std::nullopt);
  EXPECT_EQ(NameFromQemuArgs({"-name", "guest=argv0-is-not-an-option"}), std::nullopt);
  EXPECT_EQ(NameFromQemuArgs({"q"}), std::nullopt);
}

TEST(QuantadNaming, CgroupAndUnescape) {
  EXPECT_EQ(SystemdUnescape("machine-qemu\\x2d3\\x2dweb1"), "machine-qemu-3-web1");
  EXPECT_EQ(SystemdUnescape("a\\x2"), "a\\x2");
  EXPECT_EQ(NameFromCgroup("0::/machine.slice/machine-qemu\\x2d3\\x2dweb1.scope\n"), "web1");
  EXPECT_EQ(NameFromCgroup("0::/machine.slice/machine-qemu\\x2dx\\x2dweb1.scope\n"), std::nullopt);
  EXPECT_EQ(NameFromCgroup("0::/system.slice/ssh.service\n"), std::nullopt);
  EXPECT_EQ(NameFromCgroup(""), std::nullopt);
}

}  // namespace
}  // namespace kq
