// A minimal HTTP/1.1 server for the agent's few GET endpoints: one listening socket, one
// thread, one request per connection ("Connection: close").
//
// Why not cpprestsdk's http_listener: it reports a taken port by throwing from a task,
// cannot tell which port it bound for port 0, runs its own thread pool, and its shutdown
// has known hangs; the agent needs none of its features. This server binds synchronously
// (a taken port is a Status from Start), reports the bound port, and Stop() joins its
// single thread. Requests are served one at a time with a short socket timeout, which
// suits the node-local scrapers and kubelet probes it is meant for; it is not a general
// web server (no keep-alive, no request bodies, no TLS).
//
// Not here: what the endpoints answer (http_endpoints.h).
#ifndef FLATWALL_AGENT_DAEMON_HTTP_SERVER_H_
#define FLATWALL_AGENT_DAEMON_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace flatwall::agent {

struct HttpRequest {
  std::string method;  // "GET", "HEAD" (other methods get 405 without a handler call)
  std::string path;    // without the query string
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// Called on the server thread, one request at a time.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Binds "host:port" ("127.0.0.1:9090", "[::1]:0", ":9090" or "0.0.0.0:9090" for every
  // address; port 0 picks a free one) and starts serving.
  // Errors: InvalidArgument for an address that does not parse or resolve; the bind
  // error as absl::ErrnoToStatus maps it (FailedPrecondition for a port in use,
  // PermissionDenied for a privileged port), naming the address.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const std::string& address,
                                                           HttpHandler handler);

  // Stops (see Stop).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port actually bound.
  int port() const { return port_; }

  // Stops accepting, finishes the request in progress, joins the thread and closes the
  // socket. Idempotent.
  void Stop();

  // How long one connection may take to send its request or accept the response.
  static constexpr absl::Duration kIoTimeout = absl::Seconds(2);

 private:
  HttpServer(int listen_fd, int stop_fd, int port, HttpHandler handler);
  void Serve();
  void HandleConnection(int fd);

  int listen_fd_;
  int stop_fd_;  // an eventfd: Stop() makes it readable
  int port_;
  HttpHandler handler_;
  std::thread thread_;
};

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_DAEMON_HTTP_SERVER_H_
