// TestApiServer: an HTTP/1.1 server on 127.0.0.1 for the api-watch tests, speaking raw bytes
// so a test (or the stateful fake API in fake_kube_api.h) can answer any way the real API
// server might — chunked watch streams cut anywhere, dropped connections, garbage, silence.
// One thread per connection, one request per connection (responses say Connection: close),
// so several watches can stream at once. With TestTlsOptions it speaks HTTPS (OpenSSL on
// each connection's socket), optionally requiring client certificates.
//
// Not here: what the Kubernetes API answers (fake_kube_api.h).
#ifndef FLATWALL_TESTS_API_WATCH_TESTING_TEST_API_SERVER_H_
#define FLATWALL_TESTS_API_WATCH_TESTING_TEST_API_SERVER_H_

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

struct ssl_ctx_st;

namespace flatwall::apiwatch::testing {

struct TestRequest {
  std::string method;  // "GET"
  std::string target;  // path and query, as sent ("/api/v1/pods?limit=2")
  std::string path;    // target up to '?'
  std::map<std::string, std::string> query;    // unescaped
  std::map<std::string, std::string> headers;  // names lower-cased
  // Over TLS with a client certificate: its subject, RFC 2253 ("O=flatwall,CN=system:node:n1").
  std::string client_certificate_subject;
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

struct TestTlsOptions {
  std::string certificate;  // PEM: the server's certificate (then any intermediates)
  std::string key;          // PEM
  // PEM CA certificates. Non-empty: every client must present a certificate they issued
  // (handshakes without one fail).
  std::string client_ca;
};

struct TestApiServerOptions {
  // Where to listen: an IPv4 address (port ephemeral) inside network namespace `netns`
  // (a name under /run/netns; empty: the test's own namespace), so that agents in lab
  // namespaces can reach the server.
  std::string address = "127.0.0.1";
  std::string netns;
  // Set: HTTPS (url() says https). SIGPIPE is ignored from then on in the test process,
  // since OpenSSL writes with write(2) to sockets the client may have closed.
  std::optional<TestTlsOptions> tls;
};

class TestApiServer {
 public:
  using Handler = std::function<void(const TestRequest& request, TestConnection& connection)>;

  // Listens as `options` say; adds a gtest failure when it cannot (or when the TLS
  // certificate or key is unusable).
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
  ssl_ctx_st* tls_context_ = nullptr;  // SSL_CTX; null for plain HTTP
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
