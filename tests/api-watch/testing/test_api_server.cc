#include "tests/api-watch/testing/test_api_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace flatwall::apiwatch::testing {
namespace {

std::string PercentDecode(std::string_view text) {
  std::string decoded;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      decoded.push_back(
          static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      decoded.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return decoded;
}

TestRequest ParseRequest(const std::string& head) {
  TestRequest request;
  std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
  if (lines.empty()) return request;
  std::vector<std::string> request_line = absl::StrSplit(lines[0], ' ');
  if (request_line.size() >= 2) {
    request.method = request_line[0];
    request.target = request_line[1];
  }
  size_t question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) {
    for (absl::string_view pair : absl::StrSplit(request.target.substr(question + 1), '&')) {
      std::pair<std::string, std::string> key_value =
          absl::StrSplit(pair, absl::MaxSplits('=', 1));
      request.query[PercentDecode(key_value.first)] = PercentDecode(key_value.second);
    }
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    request.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  return request;
}

}  // namespace

class TestApiServer::SocketConnection : public TestConnection {
 public:
  // `ssl`: the connection's TLS session (null for plain HTTP), owned by the caller.
  SocketConnection(int fd, SSL* ssl, const std::atomic<bool>& stop)
      : fd_(fd), ssl_(ssl), stop_(stop) {}
  bool Write(std::string_view bytes) override {
    while (!bytes.empty()) {
      if (stop_) return false;
      ssize_t written =
          ssl_ != nullptr ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                          : send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (written <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(written));
    }
    return true;
  }
  bool stopping() const override { return stop_; }

  // Whether Read would find data within 50 ms (decrypted data already buffered counts).
  bool Readable() {
    if (ssl_ != nullptr && SSL_pending(ssl_) > 0) return true;
    pollfd poll_fd{fd_, POLLIN, 0};
    return poll(&poll_fd, 1, 50) > 0;
  }
  ssize_t Read(char* buffer, size_t size) {
    if (ssl_ != nullptr) return SSL_read(ssl_, buffer, static_cast<int>(size));
    return recv(fd_, buffer, size, 0);
  }

 private:
  int fd_;
  SSL* ssl_;
  const std::atomic<bool>& stop_;
};

namespace {

// A listening TCP socket on `address_text`:0, or -1. A socket belongs to the network
// namespace of the thread that creates it, so the creation runs on a thread that joins
// `netns` first.
int ListenIn(const std::string& netns, const std::string& address_text) {
  int listen_fd = -1;
  std::thread([&] {
    if (!netns.empty()) {
      int netns_fd = open(absl::StrCat("/run/netns/", netns).c_str(), O_RDONLY | O_CLOEXEC);
      bool joined = netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) == 0;
      if (netns_fd >= 0) close(netns_fd);
      if (!joined) return;
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    if (inet_pton(AF_INET, address_text.c_str(), &address.sin_addr) != 1) return;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(fd, 64) != 0) {
      close(fd);
      return;
    }
    listen_fd = fd;
  }).join();
  return listen_fd;
}

std::vector<X509*> ReadCertificates(const std::string& pem) {
  std::vector<X509*> certificates;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* certificate = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    certificates.push_back(certificate);
  }
  ERR_clear_error();
  BIO_free(bio);
  return certificates;
}

// A server context for `tls`, or null (with a gtest failure).
SSL_CTX* NewServerContext(const TestTlsOptions& tls) {
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  std::vector<X509*> chain = ReadCertificates(tls.certificate);
  BIO* bio = BIO_new_mem_buf(tls.key.data(), static_cast<int>(tls.key.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  bool ok = !chain.empty() && key != nullptr && SSL_CTX_use_certificate(context, chain[0]) == 1 &&
            SSL_CTX_use_PrivateKey(context, key) == 1 && SSL_CTX_check_private_key(context) == 1;
  for (size_t i = 1; ok && i < chain.size(); ++i) SSL_CTX_add1_chain_cert(context, chain[i]);
  for (X509* certificate : chain) X509_free(certificate);
  EVP_PKEY_free(key);
  if (ok && !tls.client_ca.empty()) {
    std::vector<X509*> authorities = ReadCertificates(tls.client_ca);
    ok = !authorities.empty();
    X509_STORE* store = SSL_CTX_get_cert_store(context);
    for (X509* authority : authorities) {
      X509_STORE_add_cert(store, authority);
      SSL_CTX_add_client_CA(context, authority);
      X509_free(authority);
    }
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  ERR_clear_error();
  if (!ok) {
    ADD_FAILURE() << "unusable TLS certificate, key or client CA for the test API server";
    SSL_CTX_free(context);
    return nullptr;
  }
  return context;
}

std::string PeerSubject(SSL* ssl) {
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string subject(data, static_cast<size_t>(size));
  BIO_free(bio);
  X509_free(peer);
  return subject;
}

}  // namespace

TestApiServer::TestApiServer(Handler handler, TestApiServerOptions options)
    : handler_(std::move(handler)), address_(options.address) {
  if (options.tls.has_value()) {
    signal(SIGPIPE, SIG_IGN);
    tls_context_ = NewServerContext(*options.tls);
    if (tls_context_ == nullptr) return;
  }
  listen_fd_ = ListenIn(options.netns, options.address);
  sockaddr_in address{};
  socklen_t length = sizeof(address);
  if (listen_fd_ < 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ADD_FAILURE() << "cannot listen on " << options.address << " in netns \"" << options.netns
                  << "\"";
    return;
  }
  port_ = ntohs(address.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
}

TestApiServer::~TestApiServer() {
  stop_ = true;
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Wakes handlers blocked in send() and clients blocked in recv().
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
    threads.swap(connection_threads_);
  }
  for (std::thread& thread : threads) thread.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  SSL_CTX_free(tls_context_);
}

std::string TestApiServer::url() const {
  return absl::StrCat(tls_context_ != nullptr ? "https://" : "http://", address_, ":", port_);
}

std::vector<std::string> TestApiServer::targets() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> targets;
  for (const TestRequest& request : requests_) targets.push_back(request.target);
  return targets;
}

std::vector<TestRequest> TestApiServer::requests() {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

void TestApiServer::AcceptLoop() {
  while (!stop_ && listen_fd_ >= 0) {
    pollfd poll_fd{listen_fd_, POLLIN, 0};
    if (poll(&poll_fd, 1, 50) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    // As the real API server (Go's net/http) does: a small watch chunk goes out at once
    // instead of waiting for the client's delayed ACK of the previous one (Nagle).
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mutex_);
    open_fds_.push_back(fd);
    connection_threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void TestApiServer::Serve(int fd) {
  SSL* ssl = nullptr;
  std::string client_subject;
  bool ready = true;
  if (tls_context_ != nullptr) {
    ssl = SSL_new(tls_context_);
    SSL_set_fd(ssl, fd);
    // Blocks; the destructor's shutdown() of the socket ends a handshake that hangs.
    ready = SSL_accept(ssl) == 1;
    if (ready) client_subject = PeerSubject(ssl);
    ERR_clear_error();
    if (!ready) {
      // Let the alert OpenSSL just sent reach the client: closing with the client's
      // request unread would reset the connection and could discard it.
      shutdown(fd, SHUT_WR);
      char discard[4096];
      for (int i = 0; i < 20 && !stop_; ++i) {
        pollfd poll_fd{fd, POLLIN, 0};
        if (poll(&poll_fd, 1, 50) > 0 && recv(fd, discard, sizeof(discard), 0) <= 0) break;
      }
    }
  }
  SocketConnection connection(fd, ssl, stop_);
  std::string head;
  char buffer[4096];
  while (ready && !absl::StrContains(head, "\r\n\r\n") && !stop_) {
    if (!connection.Readable()) continue;
    ssize_t got = connection.Read(buffer, sizeof(buffer));
    if (got <= 0) break;
    head.append(buffer, static_cast<size_t>(got));
  }
  if (absl::StrContains(head, "\r\n\r\n")) {
    TestRequest request = ParseRequest(head.substr(0, head.find("\r\n\r\n")));
    request.client_certificate_subject = std::move(client_subject);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
    }
    handler_(request, connection);
  }
  if (ssl != nullptr) {
    if (ready && !stop_) SSL_shutdown(ssl);
    SSL_free(ssl);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
  close(fd);
}

std::string Chunk(std::string_view data) {
  return absl::StrFormat("%x\r\n%s\r\n", data.size(), std::string(data));
}

void WriteResponse(TestConnection& connection, int status, std::string_view body) {
  connection.Write(absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Type: application/json\r\n",
                                "Content-Length: ", body.size(),
                                "\r\nConnection: close\r\n\r\n", std::string(body)));
}

void WriteChunkedHeader(TestConnection& connection) {
  connection.Write(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
}

}  // namespace flatwall::apiwatch::testing
