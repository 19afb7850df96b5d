// SPDX-License-Identifier: GPL-2.0
#include "metrics_server.hpp"

#include <httplib.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace kq::quantad {

MetricsServer::MetricsServer(std::function<std::string()> body)
    : body_(std::move(body)), http_(std::make_unique<httplib::Server>()) {
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(body_(), "text/plain; version=0.0.4; charset=utf-8");
  });
  http_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("quantad: metrics at /metrics\n", "text/plain");
  });
}

MetricsServer::~MetricsServer() { Stop(); }

bool MetricsServer::Start(const std::string& host, uint16_t port, std::string* error) {
  errno = 0;
  const int bound = port ? (http_->bind_to_port(host.c_str(), port) ? port : -1)
                         : http_->bind_to_any_port(host.c_str());
  if (bound <= 0) {
    const int e = errno;
    *error = e ? std::strerror(e) : "bind failed";
    return false;
  }
  port_ = static_cast<uint16_t>(bound);
  thread_ = std::thread([this] {
    http_->listen_after_bind();
    done_ = true;
  });
  return true;
}

void MetricsServer::Stop() {
  if (!thread_.joinable()) return;
  // httplib's stop() does nothing until listen_after_bind() has marked the
  // server running: a stop issued earlier would be lost and join() would
  // wait forever.  Wait for it to run (or to have failed), then stop once.
  while (!done_ && !http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!done_) http_->stop();
  thread_.join();
}

}  // namespace kq::quantad
