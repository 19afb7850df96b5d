#include "watchdog.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>

namespace kq {

Watchdog::Watchdog(int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  thread_ = std::thread([this, deadline, seconds] {
    pthread_setname_np(pthread_self(), "kq-watchdog");
    std::unique_lock lock(mu_);
    if (cv_.wait_until(lock, deadline, [this] { return stopped_; })) return;
    fprintf(stderr, "kq-testvmm: error: timeout after %d s (--timeout)\n", seconds);
    fflush(stderr);
    _exit(3);
  });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace kq
