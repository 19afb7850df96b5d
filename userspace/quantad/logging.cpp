// SPDX-License-Identifier: GPL-2.0
#include "logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace kq::quantad {
namespace {

class JournalFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string p = JournalPrefix(msg.level);
    dest.append(p.data(), p.data() + p.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JournalFlag>();
  }
};

}  // namespace

std::string JournalPrefix(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return "<2>";
    case spdlog::level::err:
      return "<3>";
    case spdlog::level::warn:
      return "<4>";
    case spdlog::level::info:
      return "<6>";
    default:
      return "<7>";
  }
}

std::unique_ptr<spdlog::formatter> MakeLogFormatter(bool journal) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  if (journal)
    f->add_flag<JournalFlag>('*').set_pattern("%*[%l] %v");
  else
    f->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
  return f;
}

void SetupLogging(spdlog::level::level_enum level, bool journal) {
  // stderr, where a daemon's diagnostics belong (spdlog's default is stdout).
  spdlog::set_default_logger(spdlog::stderr_color_mt("quantad"));
  spdlog::set_formatter(MakeLogFormatter(journal));
  spdlog::set_level(level);
}

}  // namespace kq::quantad
