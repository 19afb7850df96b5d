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

int main(int argc, char** argv) {
  using namespace kq::quantad;
  CLI::App app{"quantad: the kvm_quanta daemon (telemetry, per-VM policy, profiles, metrics)"};
  Options opts;
  bool check = false;
  std::string db, listen, level = "info";
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

  if (check) {
    std::string err;
    if (!LoadConfig(opts.config_path, &err)) {
      std::fprintf(stderr, "quantad: %s\nquantad: configuration file %s test failed\n", err.c_str(),
                   opts.config_path.c_str());
      return 1;
    }
    std::fprintf(stderr, "quantad: configuration file %s test is successful\n",
                 opts.config_path.c_str());
    return 0;
  }

  // Under systemd stderr goes to the journal, which stamps the time itself.
  spdlog::set_pattern(getenv("JOURNAL_STREAM") ? "[%l] %v" : "%Y-%m-%d %H:%M:%S.%e [%l] %v");
  spdlog::set_level(spdlog::level::from_str(level));

  // Signals are taken synchronously by the main loop; block them in every thread.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Config cfg;
  std::string err;
  if (access(opts.config_path.c_str(), F_OK) != 0 && !opts.config_explicit) {
    spdlog::info("{} absent: built-in defaults", opts.config_path);
  } else if (auto c = LoadConfig(opts.config_path, &err)) {
    cfg = std::move(*c);
    spdlog::info("configuration {}: {} [[vm]] entries", opts.config_path, cfg.vms.size());
  } else {
    spdlog::critical("{}", err);
    return 1;
  }
  Daemon d(opts, std::move(cfg));
  return d.Run();
}
