// The agent's HTTP endpoints on its metrics/health address:
//   GET /metrics  200, the registry in Prometheus text format 0.0.4
//   GET /healthz  200 "ok" while the reconcile loop beats; 503 and why when it stalled
//   GET /readyz   200 "ok" once the first full state is enforced; 503 and why before
//   anything else 404. HEAD works like GET without a body.
//
// Not here: the HTTP server (http_server.h, which explains why it is not cpprestsdk's
// listener), the metrics (metrics.h, agent_metrics.h), the health state (agent_health.h).
#ifndef FLATWALL_AGENT_DAEMON_HTTP_ENDPOINTS_H_
#define FLATWALL_AGENT_DAEMON_HTTP_ENDPOINTS_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/daemon/agent_health.h"
#include "agent/daemon/http_server.h"
#include "agent/daemon/metrics.h"

namespace flatwall::agent {

inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

struct HttpEndpointsOptions {
  std::string address = "127.0.0.1:9090";  // "host:port", see HttpServer::Start
  // Called on the HTTP thread before /metrics renders, to refresh sampled values (e.g.
  // AgentMetrics::SampleDatapath). Optional. Whatever it cannot refresh keeps its last
  // value; it must not block for long (kubelet probes share the thread).
  std::function<void()> before_scrape;
};

// The answer to one request: pure, so the routes are testable without sockets.
HttpResponse HandleAgentRequest(const HttpRequest& request, const MetricsRegistry& registry,
                                const AgentHealth& health,
                                const std::function<void()>& before_scrape);

class HttpEndpoints {
 public:
  // `registry` and `health` must outlive the result. Errors as HttpServer::Start (a port
  // in use is FailedPrecondition, naming the address).
  static absl::StatusOr<std::unique_ptr<HttpEndpoints>> Start(HttpEndpointsOptions options,
                                                              const MetricsRegistry& registry,
                                                              const AgentHealth& health);

  int port() const { return server_->port(); }
  // Stops serving; idempotent. The destructor stops too.
  void Stop() { server_->Stop(); }

 private:
  explicit HttpEndpoints(std::unique_ptr<HttpServer> server) : server_(std::move(server)) {}
  std::unique_ptr<HttpServer> server_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_HTTP_ENDPOINTS_H_
