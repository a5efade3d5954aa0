// TestApiServer: an HTTP/1.1 server on 127.0.0.1 for the api-watch tests, speaking raw bytes
// so a test (or the stateful fake API in fake_kube_api.h) can answer any way the real API
// server might — chunked watch streams cut anywhere, dropped connections, garbage, silence.
// One thread per connection, one request per connection (responses say Connection: close),
// so several watches can stream at once.
//
// Not here: what the Kubernetes API answers (fake_kube_api.h).
#ifndef FLATWALL_TESTS_API_WATCH_TESTING_TEST_API_SERVER_H_
#define FLATWALL_TESTS_API_WATCH_TESTING_TEST_API_SERVER_H_

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace flatwall::apiwatch::testing {

struct TestRequest {
  std::string method;  // "GET"
  std::string target;  // path and query, as sent ("/api/v1/pods?limit=2")
  std::string path;    // target up to '?'
  std::map<std::string, std::string> query;    // unescaped
  std::map<std::string, std::string> headers;  // names lower-cased
};

// One client connection. Writes fail (return false) once the client has gone or the server
// is stopping, which is how a streaming handler learns to return.
class TestConnection {
 public:
  virtual ~TestConnection() = default;
  virtual bool Write(std::string_view bytes) = 0;
  // True once the server is being destroyed: long-running handlers must return soon.
  virtual bool stopping() const = 0;
};

struct TestApiServerOptions {
  // Where to listen: an IPv4 address (port ephemeral) inside network namespace `netns`
  // (a name under /run/netns; empty: the test's own namespace), so that agents in lab
  // namespaces can reach the server.
  std::string address = "127.0.0.1";
  std::string netns;
};

class TestApiServer {
 public:
  using Handler = std::function<void(const TestRequest& request, TestConnection& connection)>;

  // Listens as `options` say; adds a gtest failure when it cannot.
  explicit TestApiServer(Handler handler, TestApiServerOptions options = {});
  // Stops accepting, makes every connection's writes fail and joins its thread.
  ~TestApiServer();
  TestApiServer(const TestApiServer&) = delete;
  TestApiServer& operator=(const TestApiServer&) = delete;

  int port() const { return port_; }
  std::string url() const;
  // Every request's target so far, in arrival order.
  std::vector<std::string> targets();
  std::vector<TestRequest> requests();

 private:
  class SocketConnection;
  void AcceptLoop();
  void Serve(int fd);

  Handler handler_;
  std::string address_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_ = false;
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<std::thread> connection_threads_;
  std::vector<int> open_fds_;
  std::vector<TestRequest> requests_;
};

// Response helpers for handlers.
std::string Chunk(std::string_view data);  // one chunk of a chunked body
void WriteResponse(TestConnection& connection, int status, std::string_view body);
void WriteChunkedHeader(TestConnection& connection);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace flatwall::apiwatch::testing

#endif  // FLATWALL_TESTS_API_WATCH_TESTING_TEST_API_SERVER_H_
