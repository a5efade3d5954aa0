#include "api-watch/http_transport.h"

#include <chrono>
#include <exception>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "api-watch/tls_credentials.h"
#include "cpprest/http_client.h"
#include "pplx/pplxcancellation_token.h"

namespace flatwall::apiwatch {
namespace {

namespace http = web::http;

std::unique_ptr<http::client::http_client> MakeClient(
    const web::uri& base, absl::Duration timeout, const std::shared_ptr<TlsCredentials>& tls,
    bool verify) {
  http::client::http_client_config config;
  config.set_timeout(std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  if (tls != nullptr) {
    config.set_validate_certificates(verify);
    config.set_ssl_context_callback([tls, verify](boost::asio::ssl::context& context) {
      tls->Apply(context.native_handle(), verify);
    });
  }
  return std::make_unique<http::client::http_client>(base, config);
}

std::string RequestUri(const std::string& path, const QueryParams& query) {
  web::uri_builder builder(path);
  for (const auto& [key, value] : query) builder.append_query(key, value);
  return builder.to_string();
}

absl::StatusOr<ApiResponse> WholeResponse(http::http_response& response) {
  ApiResponse result;
  result.status = response.status_code();
  // Ignores the content type: error bodies are not always JSON.
  result.body = response.extract_utf8string(true).get();
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Create(const ClientConfig& config,
                                                                     HttpTransportOptions options) {
  const std::string& url = config.server;
  if (!web::uri::validate(url)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid API server URL \"", url, "\""));
  }
  web::uri base(url);
  if ((base.scheme() != "http" && base.scheme() != "https") || base.host().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("API server URL \"", url, "\" must be http(s)://host[:port]"));
  }
  if (!config.bearer_token.empty() && !config.bearer_token_file.empty()) {
    return absl::InvalidArgumentError("both a bearer token and a bearer token file are set");
  }
  BearerToken token;
  if (!config.bearer_token_file.empty()) {
    absl::StatusOr<BearerToken> from_file = BearerToken::FromFile(config.bearer_token_file);
    if (!from_file.ok()) return from_file.status();
    token = std::move(*from_file);
  } else if (!config.bearer_token.empty()) {
    token = BearerToken::Fixed(config.bearer_token);
  }
  std::shared_ptr<TlsCredentials> tls;
  if (base.scheme() == "https") {
    std::string host = base.host();
    // cpprestsdk keeps an IPv6 literal's brackets in host().
    host = std::string(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
    absl::StatusOr<std::shared_ptr<TlsCredentials>> credentials =
        TlsCredentials::Create(config, host);
    if (!credentials.ok()) {
      return absl::Status(credentials.status().code(),
                          absl::StrCat("TLS settings for ", url, ": ",
                                       credentials.status().message()));
    }
    tls = std::move(*credentials);
  }
  bool verify = !config.insecure_skip_tls_verify;
  auto client = MakeClient(base, options.request_timeout, tls, verify);
  auto watch_client = MakeClient(base, options.watch_timeout, tls, verify);
  return std::unique_ptr<HttpTransport>(
      new HttpTransport(std::string(absl::StripSuffix(url, "/")), std::move(client),
                        std::move(watch_client), std::move(token), std::move(tls)));
}

HttpTransport::HttpTransport(std::string server, std::unique_ptr<http::client::http_client> client,
                             std::unique_ptr<http::client::http_client> watch_client,
                             BearerToken token, std::shared_ptr<TlsCredentials> tls)
    : server_(std::move(server)),
      client_(std::move(client)),
      watch_client_(std::move(watch_client)),
      token_(std::move(token)),
      tls_(std::move(tls)),
      cancellation_(std::make_unique<pplx::cancellation_token_source>()) {}

HttpTransport::~HttpTransport() = default;

http::http_request HttpTransport::NewRequest(const std::string& uri) {
  http::http_request request(http::methods::GET);
  request.set_request_uri(uri);
  if (std::string token = token_.Current(); !token.empty()) {
    request.headers().add("Authorization", absl::StrCat("Bearer ", token));
  }
  if (tls_ != nullptr) tls_->ForgetFailures();
  return request;
}

void HttpTransport::Cancel() {
  cancelled_ = true;
  cancellation_->cancel();
}

// cpprestsdk reports every failure by throwing; each becomes a Status naming the request.
absl::Status HttpTransport::FailureStatus(const std::string& uri, std::exception_ptr failure) const {
  std::string request = absl::StrCat("GET ", server_, uri);
  if (cancelled_) return absl::CancelledError(absl::StrCat(request, ": cancelled"));
  try {
    std::rethrow_exception(failure);
  } catch (const http::http_exception& e) {
    if (tls_ != nullptr && absl::StrContains(e.what(), "SSL handshake")) {
      std::string reason = tls_->last_verify_failure();
      if (!reason.empty()) {
        return absl::UnavailableError(
            absl::StrCat("TLS: certificate verify failed for ", server_, ": ", reason));
      }
    }
    // With TLS 1.3 a server that rejects the client certificate says so with an alert
    // after the handshake, which the client only meets when it reads the response.
    if (tls_ != nullptr) {
      std::string alert = tls_->last_fatal_alert();
      if (!alert.empty()) {
        return absl::UnavailableError(absl::StrCat("TLS: ", server_, " refused the connection (",
                                                   alert, ") to ", request, ": ", e.what()));
      }
    }
    std::string message = absl::StrCat(request, ": ", e.what());
    if (e.error_code() == std::errc::timed_out || absl::StrContains(e.what(), "timed out")) {
      return absl::DeadlineExceededError(message);
    }
    return absl::UnavailableError(message);
  } catch (const pplx::task_canceled&) {
    return absl::CancelledError(absl::StrCat(request, ": cancelled"));
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(request, ": ", e.what()));
  }
}

absl::StatusOr<ApiResponse> HttpTransport::Get(const std::string& path, const QueryParams& query) {
  std::string uri = RequestUri(path, query);
  if (cancelled_) return FailureStatus(uri, nullptr);
  http::http_request request = NewRequest(uri);
  try {
    http::http_response response = client_->request(request, cancellation_->get_token()).get();
    return WholeResponse(response);
  } catch (...) {
    return FailureStatus(uri, std::current_exception());
  }
}

absl::StatusOr<ApiResponse> HttpTransport::Watch(const std::string& path, const QueryParams& query,
                                                 const ByteSink& on_bytes) {
  std::string uri = RequestUri(path, query);
  if (cancelled_) return FailureStatus(uri, nullptr);
  http::http_request request = NewRequest(uri);
  try {
    // Completes when the headers are in; the body keeps arriving into body().
    http::http_response response =
        watch_client_->request(request, cancellation_->get_token()).get();
    if (response.status_code() < 200 || response.status_code() > 299) {
      return WholeResponse(response);
    }
    // getn(n) waits for n bytes, which would hold back a short event; instead wait for one
    // byte, then take whatever else has already arrived.
    auto body = response.body().streambuf();
    std::string piece;
    while (true) {
      auto first = body.bumpc().get();
      using Traits = concurrency::streams::istream::traits;
      if (first == Traits::eof()) break;
      size_t available = body.in_avail();
      piece.resize(1 + available);
      piece[0] = static_cast<char>(first);
      if (available > 0) {
        piece.resize(1 + body.getn(reinterpret_cast<uint8_t*>(&piece[1]), available).get());
      }
      on_bytes(piece);
    }
    // A cancelled request's closed connection can look like the end of the body.
    if (cancelled_) return FailureStatus(uri, nullptr);
    return ApiResponse{.status = response.status_code()};
  } catch (...) {
    return FailureStatus(uri, std::current_exception());
  }
}

}  // namespace flatwall::apiwatch
