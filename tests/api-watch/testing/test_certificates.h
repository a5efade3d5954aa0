// Test certificates for the TLS tests, generated at run time with libcrypto (EC P-256, valid
// from an hour ago for a day): a CA, server and client certificates it signs, and an
// unrelated second CA. Nothing is written to disk; everything is PEM text.
//
// Not here: serving TLS (test_api_server.h), using the certificates (the tests).
#ifndef FLATWALL_TESTS_API_WATCH_TESTING_TEST_CERTIFICATES_H_
#define FLATWALL_TESTS_API_WATCH_TESTING_TEST_CERTIFICATES_H_

#include <memory>
#include <string>
#include <vector>

namespace flatwall::apiwatch::testing {

struct CertificateAndKey {
  std::string certificate;  // PEM
  std::string key;          // PEM, PKCS#8, unencrypted
};

// A self-signed CA that issues leaf certificates. Adds a gtest failure if OpenSSL fails.
class TestCertificateAuthority {
 public:
  explicit TestCertificateAuthority(const std::string& common_name);
  ~TestCertificateAuthority();
  TestCertificateAuthority(const TestCertificateAuthority&) = delete;
  TestCertificateAuthority& operator=(const TestCertificateAuthority&) = delete;

  const std::string& certificate() const { return self_.certificate; }
  // A server certificate (extendedKeyUsage serverAuth) whose subjectAltName lists
  // `dns_names` and `ip_addresses`.
  CertificateAndKey IssueServer(const std::vector<std::string>& dns_names,
                                const std::vector<std::string>& ip_addresses);
  // A client certificate (extendedKeyUsage clientAuth) with subject CN=`common_name`,
  // O=`organization` (how Kubernetes reads a user and a group from a certificate).
  CertificateAndKey IssueClient(const std::string& common_name, const std::string& organization);

 private:
  struct State;
  std::unique_ptr<State> state_;
  CertificateAndKey self_;
};

// The set the TLS tests use.
struct TestCertificates {
  TestCertificates();
  TestCertificateAuthority ca{"flatwall test CA"};
  TestCertificateAuthority other_ca{"flatwall unrelated CA"};
  CertificateAndKey server;        // from `ca`: DNS:localhost, IP:127.0.0.1
  CertificateAndKey client;        // from `ca`: CN=system:node:n1, O=flatwall
  CertificateAndKey other_client;  // from `other_ca`: CN=system:node:n1, O=flatwall
};

}  // namespace flatwall::apiwatch::testing

#endif  // FLATWALL_TESTS_API_WATCH_TESTING_TEST_CERTIFICATES_H_
