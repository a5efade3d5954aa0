// HttpTransport over HTTPS against the test API server with certificates made at run time:
// which server certificates are trusted, client certificates, the bearer token over TLS,
// and the TLS settings rejected before any connection.
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "api-watch/client_config.h"
#include "api-watch/http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api-watch/testing/test_api_server.h"
#include "tests/api-watch/testing/test_certificates.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::apiwatch {
namespace {

using ::flatwall::apiwatch::testing::CertificateAndKey;
using ::flatwall::apiwatch::testing::TestApiServer;
using ::flatwall::apiwatch::testing::TestCertificates;
using ::flatwall::apiwatch::testing::TestConnection;
using ::flatwall::apiwatch::testing::TestRequest;
using ::flatwall::apiwatch::testing::TestTlsOptions;
using ::flatwall::apiwatch::testing::WriteResponse;
using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class HttpsTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certificates_ = new TestCertificates(); }
  static void TearDownTestSuite() {
    delete certificates_;
    certificates_ = nullptr;
  }

  static std::unique_ptr<TestApiServer> Serve(const CertificateAndKey& server_certificate,
                                              const std::string& client_ca = "") {
    return std::make_unique<TestApiServer>(
        [](const TestRequest&, TestConnection& connection) {
          WriteResponse(connection, 200, R"({"kind":"PodList"})");
        },
        testing::TestApiServerOptions{
            .tls = TestTlsOptions{.certificate = server_certificate.certificate,
                                  .key = server_certificate.key,
                                  .client_ca = client_ca}});
  }

  static absl::StatusOr<ApiResponse> GetPods(const ClientConfig& config) {
    absl::StatusOr<std::unique_ptr<HttpTransport>> transport = HttpTransport::Create(
        config, {.request_timeout = absl::Seconds(5), .watch_timeout = absl::Seconds(5)});
    if (!transport.ok()) return transport.status();
    return (*transport)->Get("/api/v1/pods", {});
  }

  static TestCertificates* certificates_;
};

TestCertificates* HttpsTransportTest::certificates_ = nullptr;

TEST_F(HttpsTransportTest, ServerCertificateIsVerifiedAgainstTheConfiguredCaAndName) {
  const TestCertificates& pki = *certificates_;
  CertificateAndKey elsewhere = certificates_->ca.IssueServer({"elsewhere.example"}, {"10.9.9.9"});
  struct Case {
    std::string name;
    CertificateAndKey server_certificate;
    std::string host;  // in the URL the client uses
    std::string certificate_authority;
    bool insecure_skip_tls_verify;
    std::string failure;  // empty: the request succeeds
  };
  const Case cases[] = {
      {"trusted CA, IP in the SAN", pki.server, "127.0.0.1", pki.ca.certificate(), false, ""},
      {"trusted CA, DNS name in the SAN", pki.server, "localhost", pki.ca.certificate(), false,
       ""},
      {"unrelated CA", pki.server, "127.0.0.1", pki.other_ca.certificate(), false,
       "unable to get local issuer certificate"},
      {"system trust store", pki.server, "127.0.0.1", "", false,
       "unable to get local issuer certificate"},
      {"IP not in the SAN", elsewhere, "127.0.0.1", pki.ca.certificate(), false,
       "IP address mismatch"},
      {"name not in the SAN", elsewhere, "localhost", pki.ca.certificate(), false,
       "hostname mismatch"},
      {"insecure-skip-tls-verify, unrelated CA and name", elsewhere, "127.0.0.1",
       pki.other_ca.certificate(), true, ""},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name);
    std::unique_ptr<TestApiServer> server = Serve(test.server_certificate);
    std::string url = absl::StrCat("https://", test.host, ":", server->port());
    absl::StatusOr<ApiResponse> response =
        GetPods({.server = url,
                 .certificate_authority = test.certificate_authority,
                 .insecure_skip_tls_verify = test.insecure_skip_tls_verify});
    if (test.failure.empty()) {
      FW_ASSERT_OK(response);
      EXPECT_EQ(response->status, 200);
    } else {
      EXPECT_THAT(response, StatusIs(absl::StatusCode::kUnavailable,
                                     HasSubstr(absl::StrCat("TLS: certificate verify failed for ",
                                                            url, ": ", test.failure))));
      EXPECT_THAT(server->requests(), IsEmpty());
    }
  }
}

TEST_F(HttpsTransportTest, ServerThatRequiresAClientCertificateAcceptsOnlyOneItsCaIssued) {
  const TestCertificates& pki = *certificates_;
  struct Case {
    std::string name;
    CertificateAndKey client;
    bool accepted;
    std::string alert;  // the server's, when it refuses
  };
  const Case cases[] = {
      {"no client certificate", {}, false, "certificate required"},
      {"client certificate from an unrelated CA", pki.other_client, false, "unknown CA"},
      {"client certificate from the required CA", pki.client, true, ""},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name);
    std::unique_ptr<TestApiServer> server = Serve(pki.server, pki.ca.certificate());
    absl::StatusOr<ApiResponse> response = GetPods({.server = server->url(),
                                                    .certificate_authority = pki.ca.certificate(),
                                                    .client_certificate = test.client.certificate,
                                                    .client_key = test.client.key});
    if (test.accepted) {
      FW_ASSERT_OK(response);
      ASSERT_EQ(server->requests().size(), 1u);
      EXPECT_EQ(server->requests()[0].client_certificate_subject, "CN=system:node:n1,O=flatwall");
    } else {
      EXPECT_THAT(response, StatusIs(absl::StatusCode::kUnavailable,
                                     HasSubstr(absl::StrCat("TLS: ", server->url(),
                                                            " refused the connection (",
                                                            test.alert, ") to GET ",
                                                            server->url(), "/api/v1/pods"))));
      EXPECT_THAT(server->requests(), IsEmpty());
    }
  }
}

TEST_F(HttpsTransportTest, BearerTokenIsSentOverTls) {
  std::unique_ptr<TestApiServer> server = Serve(certificates_->server);
  FW_ASSERT_OK(GetPods({.server = server->url(),
                        .certificate_authority = certificates_->ca.certificate(),
                        .bearer_token = "s3cret"}));
  ASSERT_EQ(server->requests().size(), 1u);
  EXPECT_EQ(server->requests()[0].headers["authorization"], "Bearer s3cret");
}

TEST_F(HttpsTransportTest, UnusableTlsSettingsAreRejectedNamingTheField) {
  const TestCertificates& pki = *certificates_;
  struct Case {
    std::string name;
    ClientConfig config;
    std::string message;
  };
  const std::string server = "https://127.0.0.1:6443";
  const Case cases[] = {
      {"CA not PEM", {.server = server, .certificate_authority = "not pem"},
       "certificate authority"},
      {"client certificate not PEM",
       {.server = server, .client_certificate = "garbage", .client_key = pki.client.key},
       "client certificate"},
      {"client key not PEM",
       {.server = server, .client_certificate = pki.client.certificate, .client_key = "garbage"},
       "client key"},
      {"certificate without key", {.server = server, .client_certificate = pki.client.certificate},
       "only one is given"},
      {"key of another certificate",
       {.server = server,
        .client_certificate = pki.client.certificate,
        .client_key = pki.other_client.key},
       "does not match"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name);
    EXPECT_THAT(HttpTransport::Create(test.config),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::AllOf(HasSubstr(server), HasSubstr(test.message))));
  }
}

}  // namespace
}  // namespace flatwall::apiwatch
