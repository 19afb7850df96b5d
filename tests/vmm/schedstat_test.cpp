#include "schedstat.hpp"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace kq {
namespace {

TEST(Schedstat, Parse) {
  auto s = ParseSchedstat("123456 7890 12\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->run_ns, 123456u);
  EXPECT_EQ(s->wait_ns, 7890u);
  EXPECT_EQ(s->timeslices, 12u);
  EXPECT_FALSE(ParseSchedstat(""));
  EXPECT_FALSE(ParseSchedstat("1 2\n"));
  EXPECT_FALSE(ParseSchedstat("1 2 x\n"));
  EXPECT_FALSE(ParseSchedstat("1 2 3 4\n"));
}

TEST(Schedstat, ReadsOwnThread) {
  std::string error;
  auto s = ReadThreadSchedstat(static_cast<pid_t>(syscall(SYS_gettid)), &error);
  if (!s && error.find("cannot open") != std::string::npos) GTEST_SKIP() << error;
  EXPECT_TRUE(s) << error;  // values vary by kernel config (may all be 0): only the format
}

}  // namespace
}  // namespace kq
