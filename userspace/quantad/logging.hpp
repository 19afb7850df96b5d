// SPDX-License-Identifier: GPL-2.0
// quantad's log format.  Under systemd (JOURNAL_STREAM set) stderr goes to
// the journal, which stamps the time itself and takes a line's severity
// from a "<N>" prefix (sd-daemon(3)); without it every line would be
// stored at the stream's default, info, and `journalctl -p err` would miss
// the errors.
#pragma once

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include <memory>
#include <string>

namespace kq::quantad {

// The syslog priority prefix of a level: "<3>" for err, ...
std::string JournalPrefix(spdlog::level::level_enum level);
// "<N>[level] message" for the journal, else "time [level] message".
std::unique_ptr<spdlog::formatter> MakeLogFormatter(bool journal);
// Installs the formatter and the level on the default logger.
void SetupLogging(spdlog::level::level_enum level, bool journal);

}  // namespace kq::quantad
