#include "tests/api-watch/testing/test_certificates.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace flatwall::apiwatch::testing {
namespace {

EVP_PKEY* NewKey() { return EVP_EC_gen("P-256"); }

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string CertificatePem(X509* certificate) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, certificate);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

void AddExtension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) {
    ADD_FAILURE() << "cannot make extension " << OBJ_nid2sn(nid) << " = " << value;
    return;
  }
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
}

// An unsigned certificate for `key` with `subject` (name=value pairs), issued by `issuer`
// (null: self-issued).
X509* NewCertificate(EVP_PKEY* key, const std::vector<std::pair<std::string, std::string>>& subject,
                     X509* issuer) {
  static long serial = 1;
  X509* certificate = X509_new();
  X509_set_version(certificate, 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(certificate), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate), 24 * 3600);
  X509_set_pubkey(certificate, key);
  X509_NAME* name = X509_get_subject_name(certificate);
  for (const auto& [field, value] : subject) {
    X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(certificate, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : certificate;
  AddExtension(certificate, signer, NID_subject_key_identifier, "hash");
  AddExtension(certificate, signer, NID_authority_key_identifier, "keyid:always");
  return certificate;
}

void Sign(X509* certificate, EVP_PKEY* key) {
  if (X509_sign(certificate, key, EVP_sha256()) == 0) ADD_FAILURE() << "cannot sign certificate";
}

}  // namespace

struct TestCertificateAuthority::State {
  EVP_PKEY* key = nullptr;
  X509* certificate = nullptr;
};

TestCertificateAuthority::TestCertificateAuthority(const std::string& common_name)
    : state_(std::make_unique<State>()) {
  state_->key = NewKey();
  if (state_->key == nullptr) {
    ADD_FAILURE() << "cannot generate a key";
    return;
  }
  state_->certificate = NewCertificate(state_->key, {{"CN", common_name}}, nullptr);
  AddExtension(state_->certificate, state_->certificate, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(state_->certificate, state_->certificate, NID_key_usage,
               "critical,keyCertSign,cRLSign");
  Sign(state_->certificate, state_->key);
  self_ = {CertificatePem(state_->certificate), KeyPem(state_->key)};
}

TestCertificateAuthority::~TestCertificateAuthority() {
  X509_free(state_->certificate);
  EVP_PKEY_free(state_->key);
}

CertificateAndKey TestCertificateAuthority::IssueServer(
    const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses) {
  EVP_PKEY* key = NewKey();
  X509* certificate = NewCertificate(key, {{"CN", dns_names.empty() ? "server" : dns_names[0]}},
                                     state_->certificate);
  std::vector<std::string> names;
  for (const std::string& name : dns_names) names.push_back(absl::StrCat("DNS:", name));
  for (const std::string& address : ip_addresses) names.push_back(absl::StrCat("IP:", address));
  AddExtension(certificate, state_->certificate, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(certificate, state_->certificate, NID_key_usage, "critical,digitalSignature");
  AddExtension(certificate, state_->certificate, NID_ext_key_usage, "serverAuth");
  if (!names.empty()) {
    AddExtension(certificate, state_->certificate, NID_subject_alt_name, absl::StrJoin(names, ","));
  }
  Sign(certificate, state_->key);
  CertificateAndKey result{CertificatePem(certificate), KeyPem(key)};
  X509_free(certificate);
  EVP_PKEY_free(key);
  return result;
}

CertificateAndKey TestCertificateAuthority::IssueClient(const std::string& common_name,
                                                        const std::string& organization) {
  EVP_PKEY* key = NewKey();
  X509* certificate = NewCertificate(key, {{"O", organization}, {"CN", common_name}},
                                     state_->certificate);
  AddExtension(certificate, state_->certificate, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(certificate, state_->certificate, NID_key_usage, "critical,digitalSignature");
  AddExtension(certificate, state_->certificate, NID_ext_key_usage, "clientAuth");
  Sign(certificate, state_->key);
  CertificateAndKey result{CertificatePem(certificate), KeyPem(key)};
  X509_free(certificate);
  EVP_PKEY_free(key);
  return result;
}

TestCertificates::TestCertificates()
    : server(ca.IssueServer({"localhost"}, {"127.0.0.1"})),
      client(ca.IssueClient("system:node:n1", "flatwall")),
      other_client(other_ca.IssueClient("system:node:n1", "flatwall")) {}

}  // namespace flatwall::apiwatch::testing
