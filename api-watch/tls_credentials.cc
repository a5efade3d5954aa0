#include "api-watch/tls_credentials.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace flatwall::apiwatch {
namespace {

// Every certificate in `pem`, in order; empty when there is none or one is malformed.
std::vector<X509*> ReadCertificates(const std::string& pem) {
  std::vector<X509*> certificates;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* certificate = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    certificates.push_back(certificate);
  }
  // The loop ends at the end of the data (PEM_R_NO_START_LINE) or at a malformed block.
  unsigned long error = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(error) == ERR_LIB_PEM &&
                   ERR_GET_REASON(error) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  BIO_free(bio);
  if (!clean_end) {
    for (X509* certificate : certificates) X509_free(certificate);
    certificates.clear();
  }
  return certificates;
}

// Where each client context keeps its TlsCredentials for RecordAlert (index 0, the "app
// data", belongs to Boost.Asio).
int CredentialsIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool IsIpAddress(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

absl::StatusOr<std::shared_ptr<TlsCredentials>> TlsCredentials::Create(const ClientConfig& config,
                                                                       const std::string& host) {
  std::shared_ptr<TlsCredentials> credentials(new TlsCredentials());
  credentials->host_ = host;
  credentials->host_is_ip_ = IsIpAddress(host);
  if (!config.certificate_authority.empty()) {
    credentials->authorities_ = ReadCertificates(config.certificate_authority);
    if (credentials->authorities_.empty()) {
      return absl::InvalidArgumentError(
          "certificate authority: not a PEM certificate (or a malformed one)");
    }
  }
  if (config.client_certificate.empty() != config.client_key.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs a client key and a key a certificate; only one is given");
  }
  if (config.client_certificate.empty()) return credentials;
  credentials->client_chain_ = ReadCertificates(config.client_certificate);
  if (credentials->client_chain_.empty()) {
    return absl::InvalidArgumentError(
        "client certificate: not a PEM certificate (or a malformed one)");
  }
  BIO* bio = BIO_new_mem_buf(config.client_key.data(), static_cast<int>(config.client_key.size()));
  credentials->client_key_ = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ERR_clear_error();
  if (credentials->client_key_ == nullptr) {
    return absl::InvalidArgumentError("client key: not a PEM private key (or an encrypted one)");
  }
  if (X509_check_private_key(credentials->client_chain_.front(), credentials->client_key_) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("client key does not match the client certificate");
  }
  return credentials;
}

TlsCredentials::~TlsCredentials() {
  for (X509* certificate : authorities_) X509_free(certificate);
  for (X509* certificate : client_chain_) X509_free(certificate);
  EVP_PKEY_free(client_key_);
}

void TlsCredentials::Apply(SSL_CTX* context, bool verify) {
  if (!authorities_.empty()) {
    // A kubeconfig's CA replaces the system's trust store rather than adding to it: a
    // public CA has no business vouching for a cluster's API server.
    X509_STORE* store = X509_STORE_new();
    for (X509* certificate : authorities_) X509_STORE_add_cert(store, certificate);
    SSL_CTX_set_cert_store(context, store);
  }
  if (!client_chain_.empty()) {
    SSL_CTX_use_certificate(context, client_chain_.front());
    for (size_t i = 1; i < client_chain_.size(); ++i) {
      SSL_CTX_add1_chain_cert(context, client_chain_[i]);
    }
    SSL_CTX_use_PrivateKey(context, client_key_);
  }
  SSL_CTX_set_ex_data(context, CredentialsIndex(), this);
  SSL_CTX_set_info_callback(context, &TlsCredentials::RecordAlert);
  if (!verify) return;
  // cpprestsdk checks the name too (RFC 2818); asking OpenSSL as well gives the failure a
  // precise reason ("hostname mismatch", "IP address mismatch").
  X509_VERIFY_PARAM* parameters = SSL_CTX_get0_param(context);
  if (host_is_ip_) {
    X509_VERIFY_PARAM_set1_ip_asc(parameters, host_.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(parameters, host_.c_str(), host_.size());
  }
  SSL_CTX_set_cert_verify_callback(context, &TlsCredentials::VerifyAndRecord, this);
}

int TlsCredentials::VerifyAndRecord(X509_STORE_CTX* store_context, void* self) {
  int verified = X509_verify_cert(store_context);
  std::string failure;
  if (verified <= 0) {
    int error = X509_STORE_CTX_get_error(store_context);
    failure = error == X509_V_OK
                  ? "the certificate does not name the server"
                  : X509_verify_cert_error_string(error);
  }
  auto* credentials = static_cast<TlsCredentials*>(self);
  std::lock_guard<std::mutex> lock(credentials->mutex_);
  credentials->last_verify_failure_ = std::move(failure);
  return verified;
}

void TlsCredentials::RecordAlert(const SSL* ssl, int where, int value) {
  bool handshake_start = (where & SSL_CB_HANDSHAKE_START) != 0;
  bool fatal_alert = (where & SSL_CB_READ_ALERT) != 0 &&
                     std::string_view(SSL_alert_type_string(value)) == "F";
  if (!handshake_start && !fatal_alert) return;
  auto* credentials = static_cast<TlsCredentials*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), CredentialsIndex()));
  if (credentials == nullptr) return;
  std::lock_guard<std::mutex> lock(credentials->mutex_);
  // OpenSSL 3.0 has no name for TLS 1.3's certificate_required (116), the alert a server
  // sends when the client offered no certificate.
  constexpr int kCertificateRequired = 116;
  std::string alert;
  if (fatal_alert) {
    alert = (value & 0xff) == kCertificateRequired ? "certificate required"
                                                   : SSL_alert_desc_string_long(value);
  }
  credentials->last_fatal_alert_ = std::move(alert);
}

std::string TlsCredentials::last_fatal_alert() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_fatal_alert_;
}

void TlsCredentials::ForgetFailures() {
  std::lock_guard<std::mutex> lock(mutex_);
  last_verify_failure_.clear();
  last_fatal_alert_.clear();
}

std::string TlsCredentials::last_verify_failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_verify_failure_;
}

}  // namespace flatwall::apiwatch
