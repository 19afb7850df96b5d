// Overall safety timeout: if not stopped within the given time, prints an error and _exit(3)s,
// even while vCPU threads are inside KVM_RUN.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace kq {

class Watchdog {
 public:
  explicit Watchdog(int seconds);
  ~Watchdog();  // stops the watchdog
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace kq
