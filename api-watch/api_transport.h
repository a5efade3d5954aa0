// ApiTransport: how the list-then-watch state machine (resource_watcher.h) talks to the
// Kubernetes API server, reduced to the two requests it makes, so that the state machine
// can be tested against a scripted fake and run over any HTTP client.
//
// Not here: a real implementation (http_transport.h), what the requests mean
// (resource_watcher.h).
#ifndef FLATWALL_API_WATCH_API_TRANSPORT_H_
#define FLATWALL_API_WATCH_API_TRANSPORT_H_

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace flatwall::apiwatch {

// Query parameters in order, not yet escaped.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct ApiResponse {
  int status = 0;    // the HTTP status code
  std::string body;  // the whole body; empty for a streamed 2xx watch
};

class ApiTransport {
 public:
  using ByteSink = std::function<void(std::string_view bytes)>;

  virtual ~ApiTransport() = default;

  // GET `path`?`query` and the whole response. Any HTTP status is a response; errors are
  // for when none arrives: Unavailable (connection refused, reset, or a body cut short) or
  // DeadlineExceeded (no answer in time), each naming the request.
  virtual absl::StatusOr<ApiResponse> Get(const std::string& path, const QueryParams& query) = 0;

  // GET `path`?`query` with a streamed body. For a 2xx status, hands the body to
  // `on_bytes` piece by piece as it arrives (on the calling thread, pieces split
  // anywhere) and returns the status with an empty body once the body has ended
  // normally. For any other status, `on_bytes` is not called and the body is returned.
  // Errors as for Get; when the connection breaks mid-body, the bytes delivered so far
  // stay delivered. Both return Cancelled after Cancel().
  virtual absl::StatusOr<ApiResponse> Watch(const std::string& path, const QueryParams& query,
                                            const ByteSink& on_bytes) = 0;

  // Makes requests in flight return Cancelled promptly (well under a second), and every
  // later request return Cancelled at once; for stopping a watcher blocked in a silent
  // watch. Callable from any thread; cannot be undone. The default does nothing, which
  // suits only transports whose requests never block (scripted test fakes).
  virtual void Cancel() {}
};

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_API_TRANSPORT_H_
