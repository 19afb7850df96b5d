// SPDX-License-Identifier: GPL-2.0
// The metrics endpoint: an HTTP server on its own thread that can be stopped
// at any moment, including before it has started listening.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace kq::quantad {

class MetricsServer {
 public:
  // body() renders /metrics; called on the server's thread.
  explicit MetricsServer(std::function<std::string()> body);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds host:port (port 0: any free port) and starts serving.  On failure
  // *error says why, with the errno text.
  bool Start(const std::string& host, uint16_t port, std::string* error);
  // The bound port (after Start).
  uint16_t port() const { return port_; }
  // Stops and joins the thread; returns when it is gone.  Safe to call
  // right after Start, before the thread has begun listening.
  void Stop();

 private:
  std::function<std::string()> body_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  uint16_t port_ = 0;
};

}  // namespace kq::quantad
