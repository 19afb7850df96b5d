// SPDX-License-Identifier: GPL-2.0
// quantad: the kvm_quanta daemon.  See Documentation/quantad.rst.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "config.hpp"
#include "daemon.hpp"
#include "kq_version.hpp"
#include "logging.hpp"

namespace {

using namespace kq::quantad;

// The configuration quantad runs on: the file, or the built-in defaults when
// the default file does not exist (a file named with --config must).  Then
// the effective metrics address (--listen wins) must be allowed by it.
std::optional<Config> Effective(const Options& opts, std::string* note, std::string* err) {
  Config cfg;
  if (!opts.config_explicit && access(opts.config_path.c_str(), F_OK) != 0 && errno == ENOENT) {
    *note = opts.config_path + " absent: built-in defaults";
  } else if (auto c = LoadConfig(opts.config_path, err)) {
    cfg = std::move(*c);
    *note = "configuration " + opts.config_path + ": " + std::to_string(cfg.vms.size()) +
            " [[vm]] entries";
  } else {
    return std::nullopt;
  }
  if (auto why = RemoteListenError(opts.metrics_listen.value_or(cfg.daemon.metrics_listen), cfg)) {
    *err = (opts.metrics_listen ? "--listen: " : opts.config_path + ": ") + *why;
    return std::nullopt;
  }
  return cfg;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"quantad: the kvm_quanta daemon (telemetry, per-VM policy, profiles, metrics)"};
  Options opts;
  bool check = false;
  std::string db, listen, level = "info";
  app.set_version_flag("-V,--version", "quantad " KQ_VERSION);
  app.add_option("-c,--config", opts.config_path, "configuration file")->capture_default_str();
  app.add_flag("-t,--check", check, "validate the configuration and exit (0 valid, 1 not)");
  app.add_option("--proc-root", opts.proc_root, "procfs root (for tests)")->capture_default_str();
  app.add_option("--sysfs-root", opts.sysfs_root, "kvm_quanta sysfs root (for tests)")
      ->capture_default_str();
  app.add_option("--database", db, "profile database (overrides [daemon] database)");
  app.add_option("--listen", listen, "metrics address (overrides [daemon] metrics_listen)");
  app.add_option("--log-level", level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  opts.config_explicit = app.count("--config") > 0;
  if (!db.empty()) opts.database = db;
  if (!listen.empty()) opts.metrics_listen = listen;

  std::string note, err;
  if (check) {
    if (!Effective(opts, &note, &err)) {
      std::fprintf(stderr, "quantad: %s\nquantad: configuration file %s test failed\n", err.c_str(),
                   opts.config_path.c_str());
      return 1;
    }
    std::fprintf(stderr, "quantad: %s\nquantad: configuration file %s test is successful\n",
                 note.c_str(), opts.config_path.c_str());
    return 0;
  }

  SetupLogging(spdlog::level::from_str(level), getenv("JOURNAL_STREAM") != nullptr);

  // Signals are taken synchronously by the main loop; block them in every thread.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto cfg = Effective(opts, &note, &err);
  if (!cfg) {
    spdlog::critical("{}", err);
    return 1;
  }
  spdlog::info("{}", note);
  Daemon d(opts, std::move(*cfg));
  return d.Run();
}
