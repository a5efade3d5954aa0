#include "api-watch/http_transport.h"

#include <chrono>
#include <exception>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cpprest/http_client.h"

namespace flatwall::apiwatch {
namespace {

namespace http = web::http;

std::unique_ptr<http::client::http_client> MakeClient(const web::uri& base,
                                                      absl::Duration timeout) {
  http::client::http_client_config config;
  config.set_timeout(std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
  return std::make_unique<http::client::http_client>(base, config);
}

std::string RequestUri(const std::string& path, const QueryParams& query) {
  web::uri_builder builder(path);
  for (const auto& [key, value] : query) builder.append_query(key, value);
  return builder.to_string();
}

// cpprestsdk reports every failure by throwing; each becomes a Status naming the request.
absl::Status FailureStatus(const std::string& uri, std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const http::http_exception& e) {
    std::string message = absl::StrCat("GET ", uri, ": ", e.what());
    if (e.error_code() == std::errc::timed_out || absl::StrContains(e.what(), "timed out")) {
      return absl::DeadlineExceededError(message);
    }
    return absl::UnavailableError(message);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("GET ", uri, ": ", e.what()));
  }
}

absl::StatusOr<ApiResponse> WholeResponse(const std::string& uri, http::http_response& response) {
  ApiResponse result;
  result.status = response.status_code();
  try {
    // Ignores the content type: error bodies are not always JSON.
    result.body = response.extract_utf8string(true).get();
  } catch (...) {
    return FailureStatus(uri, std::current_exception());
  }
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Create(const std::string& base_url,
                                                                     HttpTransportOptions options) {
  if (!web::uri::validate(base_url)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid API server URL \"", base_url, "\""));
  }
  web::uri base(base_url);
  if (base.scheme() != "http" || base.host().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("API server URL \"", base_url, "\" must be http://host[:port]"));
  }
  return std::unique_ptr<HttpTransport>(new HttpTransport(MakeClient(base, options.request_timeout),
                                                          MakeClient(base, options.watch_timeout)));
}

HttpTransport::HttpTransport(std::unique_ptr<http::client::http_client> client,
                             std::unique_ptr<http::client::http_client> watch_client)
    : client_(std::move(client)), watch_client_(std::move(watch_client)) {}

HttpTransport::~HttpTransport() = default;

absl::StatusOr<ApiResponse> HttpTransport::Get(const std::string& path, const QueryParams& query) {
  std::string uri = RequestUri(path, query);
  http::http_response response;
  try {
    response = client_->request(http::methods::GET, uri).get();
  } catch (...) {
    return FailureStatus(uri, std::current_exception());
  }
  return WholeResponse(uri, response);
}

absl::StatusOr<ApiResponse> HttpTransport::Watch(const std::string& path, const QueryParams& query,
                                                 const ByteSink& on_bytes) {
  std::string uri = RequestUri(path, query);
  http::http_response response;
  try {
    // Completes when the headers are in; the body keeps arriving into body().
    response = watch_client_->request(http::methods::GET, uri).get();
  } catch (...) {
    return FailureStatus(uri, std::current_exception());
  }
  if (response.status_code() < 200 || response.status_code() > 299) {
    return WholeResponse(uri, response);
  }
  // getn(n) waits for n bytes, which would hold back a short event; instead wait for one
  // byte, then take whatever else has already arrived.
  auto body = response.body().streambuf();
  std::string piece;
  try {
    while (true) {
      auto first = body.bumpc().get();
      using Traits = concurrency::streams::istream::traits;
      if (first == Traits::eof()) break;
      size_t available = body.in_avail();
      piece.resize(1 + available);
      piece[0] = static_cast<char>(first);
      if (available > 0)
        piece.resize(1 + body.getn(reinterpret_cast<uint8_t*>(&piece[1]), available).get());
      on_bytes(piece);
    }
  } catch (...) {
    return FailureStatus(uri, std::current_exception());
  }
  return ApiResponse{.status = response.status_code()};
}

}  // namespace flatwall::apiwatch
