#include "agent/daemon/http_endpoints.h"

#include <utility>

#include "absl/time/clock.h"

namespace flatwall::agent {
namespace {

HttpResponse CheckResponse(const AgentHealth::Check& check) {
  return {check.ok ? 200 : 503, "text/plain; charset=utf-8", check.message + "\n"};
}

}  // namespace

HttpResponse HandleAgentRequest(const HttpRequest& request, const MetricsRegistry& registry,
                                const AgentHealth& health,
                                const std::function<void()>& before_scrape) {
  if (request.path == "/metrics") {
    if (before_scrape) before_scrape();
    return {200, kPrometheusContentType, registry.Render()};
  }
  if (request.path == "/healthz") return CheckResponse(health.Liveness(absl::Now()));
  if (request.path == "/readyz") return CheckResponse(health.Readiness());
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

absl::StatusOr<std::unique_ptr<HttpEndpoints>> HttpEndpoints::Start(
    HttpEndpointsOptions options, const MetricsRegistry& registry, const AgentHealth& health) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      options.address,
      [&registry, &health, before_scrape = std::move(options.before_scrape)](
          const HttpRequest& request) {
        return HandleAgentRequest(request, registry, health, before_scrape);
      });
  if (!server.ok()) return server.status();
  return std::unique_ptr<HttpEndpoints>(new HttpEndpoints(std::move(*server)));
}

}  // namespace flatwall::agent
