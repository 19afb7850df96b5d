// SPDX-License-Identifier: GPL-2.0
// Journal severity (issue 12, defect 3): under JOURNAL_STREAM each line
// carries its syslog priority, so `journalctl -p err` finds the errors.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "logging.hpp"

namespace kq::quantad {
namespace {

std::string Format(bool journal, spdlog::level::level_enum level, const char* text) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger log("t", sink);
  log.set_formatter(MakeLogFormatter(journal));
  log.set_level(spdlog::level::trace);
  log.log(level, text);
  log.flush();
  return out.str();
}

TEST(QuantadLogging, JournalLinesCarryTheirPriority) {
  EXPECT_EQ(Format(true, spdlog::level::err, "boom"), "<3>[error] boom\n");
  EXPECT_EQ(Format(true, spdlog::level::critical, "x"), "<2>[critical] x\n");
  EXPECT_EQ(Format(true, spdlog::level::warn, "x"), "<4>[warning] x\n");
  EXPECT_EQ(Format(true, spdlog::level::info, "x"), "<6>[info] x\n");
  EXPECT_EQ(Format(true, spdlog::level::debug, "x"), "<7>[debug] x\n");
}

TEST(QuantadLogging, TerminalLinesHaveTimeNoPriority) {
  const std::string line = Format(false, spdlog::level::err, "boom");
  EXPECT_EQ(line.rfind("<", 0), std::string::npos) << line;
  EXPECT_NE(line.find(" [error] boom"), std::string::npos) << line;
}

}  // namespace
}  // namespace kq::quantad
