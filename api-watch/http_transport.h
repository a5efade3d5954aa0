// HttpTransport: ApiTransport over plain HTTP/1.1 with cpprestsdk's http_client. Watch
// bodies are read from the response's body stream as the chunks arrive (cpprestsdk hands
// the body over through a producer/consumer buffer filled while the request runs), so a
// watch is never buffered whole.
//
// Not here: TLS, credentials and kubeconfig (a later part of issue 5), the protocol
// (resource_watcher.h).
#ifndef FLATWALL_API_WATCH_HTTP_TRANSPORT_H_
#define FLATWALL_API_WATCH_HTTP_TRANSPORT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api-watch/api_transport.h"

namespace web::http::client {
class http_client;
}  // namespace web::http::client

namespace flatwall::apiwatch {

struct HttpTransportOptions {
  // No byte for this long fails a request (DeadlineExceeded). Watches need longer than
  // their timeoutSeconds plus the bookmark interval (about a minute).
  absl::Duration request_timeout = absl::Seconds(30);
  absl::Duration watch_timeout = absl::Minutes(6);
};

class HttpTransport : public ApiTransport {
 public:
  // `base_url`: "http://host:port" of the API server. InvalidArgument when it is not an
  // http URL with a host.
  static absl::StatusOr<std::unique_ptr<HttpTransport>> Create(const std::string& base_url,
                                                               HttpTransportOptions options = {});
  ~HttpTransport() override;

  absl::StatusOr<ApiResponse> Get(const std::string& path, const QueryParams& query) override;
  absl::StatusOr<ApiResponse> Watch(const std::string& path, const QueryParams& query,
                                    const ByteSink& on_bytes) override;

 private:
  HttpTransport(std::unique_ptr<web::http::client::http_client> client,
                std::unique_ptr<web::http::client::http_client> watch_client);

  std::unique_ptr<web::http::client::http_client> client_;
  std::unique_ptr<web::http::client::http_client> watch_client_;  // its timeout is longer
};

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_HTTP_TRANSPORT_H_
