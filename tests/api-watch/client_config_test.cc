// LoadKubeconfig and LoadInClusterConfig against files the tests write into a temporary
// directory: each supported kubeconfig field, context choice, path resolution, $KUBECONFIG
// and ~, the errors (naming file, line and field), and a kubeconfig that carries a client
// certificate used for real against the TLS test API server.
#include "api-watch/client_config.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "api-watch/http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api-watch/testing/test_api_server.h"
#include "tests/api-watch/testing/test_certificates.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::apiwatch {
namespace {

using ::flatwall::apiwatch::testing::TestApiServer;
using ::flatwall::apiwatch::testing::TestCertificates;
using ::flatwall::apiwatch::testing::TestConnection;
using ::flatwall::apiwatch::testing::TestRequest;
using ::flatwall::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Sets (or, with nullopt, unsets) an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value.has_value()) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_.has_value()) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class ClientConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/flatwall-kubeconfig-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  // Writes `contents` to `name` under the test's directory and returns the path.
  std::string Write(const std::string& name, const std::string& contents) {
    std::string path = absl::StrCat(directory_, "/", name);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << contents;
    return path;
  }

  std::string directory_;
};

// Two clusters, users and contexts; the tests replace the marked fields.
constexpr char kKubeconfig[] = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: Q0EtUEVN
- name: prod-cluster
  cluster:
    server: https://prod.example:443
    certificate-authority: certs/ca.pem
    insecure-skip-tls-verify: false
    extensions: [{name: ignored}]
users:
- name: alice
  user:
    token: alice-token
- name: node
  user:
    client-certificate: certs/node.crt
    client-key: /ABS/node.key
contexts:
- name: dev
  context: {cluster: dev-cluster, user: alice, namespace: default}
- name: prod
  context:
    cluster: prod-cluster
    user: node
)";

TEST_F(ClientConfigTest, KubeconfigFieldsBecomeTheClientConfig) {
  Write("certs/ca.pem", "CA-FILE-PEM");
  Write("certs/node.crt", "NODE-CERT-PEM");
  std::string key = Write("abs/node.key", "NODE-KEY-PEM");
  Write("tokens/t", "file-token\n");
  struct Case {
    std::string name;
    std::map<std::string, std::string> replacements;
    std::string context;
    ClientConfig expected;
  };
  const Case cases[] = {
      {"current-context, token, CA data",
       {},
       "",
       {.server = "https://10.0.0.1:6443",
        .certificate_authority = "CA-PEM",
        .bearer_token = "alice-token",
        .identity = "kubeconfig KUBECONFIG context dev user alice"}},
      {"explicit context, CA file and client certificate files (relative and absolute)",
       {},
       "prod",
       {.server = "https://prod.example:443",
        .certificate_authority = "CA-FILE-PEM",
        .client_certificate = "NODE-CERT-PEM",
        .client_key = "NODE-KEY-PEM",
        .identity = "kubeconfig KUBECONFIG context prod user node"}},
      {"insecure-skip-tls-verify",
       {{"insecure-skip-tls-verify: false", "insecure-skip-tls-verify: true"}},
       "prod",
       {.server = "https://prod.example:443",
        .certificate_authority = "CA-FILE-PEM",
        .client_certificate = "NODE-CERT-PEM",
        .client_key = "NODE-KEY-PEM",
        .insecure_skip_tls_verify = true,
        .identity = "kubeconfig KUBECONFIG context prod user node"}},
      {"tokenFile relative to the kubeconfig",
       {{"token: alice-token", "tokenFile: tokens/t"}},
       "",
       {.server = "https://10.0.0.1:6443",
        .certificate_authority = "CA-PEM",
        .bearer_token_file = directory_ + "/tokens/t",
        .identity = "kubeconfig KUBECONFIG context dev user alice"}},
      {"inline client certificate data wins over the files",
       {{"client-certificate: certs/node.crt",
         "client-certificate: certs/node.crt\n    client-certificate-data: " +
             absl::Base64Escape("INLINE-CERT")}},
       "prod",
       {.server = "https://prod.example:443",
        .certificate_authority = "CA-FILE-PEM",
        .client_certificate = "INLINE-CERT",
        .client_key = "NODE-KEY-PEM",
        .identity = "kubeconfig KUBECONFIG context prod user node"}},
      {"context without a user is anonymous",
       {{"cluster: prod-cluster\n    user: node", "cluster: prod-cluster"}},
       "prod",
       {.server = "https://prod.example:443",
        .certificate_authority = "CA-FILE-PEM",
        .identity = "kubeconfig KUBECONFIG context prod"}},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name);
    std::string text = absl::StrReplaceAll(kKubeconfig, {{"/ABS/node.key", key}});
    text = absl::StrReplaceAll(text, test.replacements);
    std::string path = Write("config", text);
    absl::StatusOr<ClientConfig> config = LoadKubeconfig(path, test.context);
    FW_ASSERT_OK(config);
    ClientConfig expected = test.expected;
    expected.identity = absl::StrReplaceAll(expected.identity, {{"KUBECONFIG", path}});
    EXPECT_EQ(config->server, expected.server);
    EXPECT_EQ(config->certificate_authority, expected.certificate_authority);
    EXPECT_EQ(config->client_certificate, expected.client_certificate);
    EXPECT_EQ(config->client_key, expected.client_key);
    EXPECT_EQ(config->bearer_token, expected.bearer_token);
    EXPECT_EQ(config->bearer_token_file, expected.bearer_token_file);
    EXPECT_EQ(config->insecure_skip_tls_verify, expected.insecure_skip_tls_verify);
    EXPECT_EQ(config->identity, expected.identity);
  }
}

TEST_F(ClientConfigTest, KubeconfigProblemsNameTheFileLineAndField) {
  struct Case {
    std::string name;
    std::map<std::string, std::string> replacements;
    std::string context;
    absl::StatusCode code;
    std::string message;  // after "kubeconfig <path> "
  };
  const Case cases[] = {
      {"YAML syntax", {{"kind: Config", "kind: [Config"}}, "", absl::StatusCode::kInvalidArgument,
       "line 3"},
      {"not base64",
       {{"Q0EtUEVN", "not*base64!"}},
       "",
       absl::StatusCode::kInvalidArgument,
       "line 8: clusters[0].cluster.certificate-authority-data: not base64"},
      {"not a boolean",
       {{"insecure-skip-tls-verify: false", "insecure-skip-tls-verify: maybe"}},
       "prod",
       absl::StatusCode::kInvalidArgument,
       "line 13: clusters[1].cluster.insecure-skip-tls-verify: must be true or false"},
      {"clusters not a list",
       {{"clusters:\n- name: dev-cluster", "clusters: 3\nx:\n- name: dev-cluster"}},
       "",
       absl::StatusCode::kInvalidArgument,
       "line 4: clusters: must be a list"},
      {"entry without a name",
       {{"- name: alice", "- nom: alice"}},
       "",
       absl::StatusCode::kInvalidArgument,
       "line 16: users[0].name: missing"},
      {"duplicate context",
       {{"- name: prod\n", "- name: dev\n"}},
       "",
       absl::StatusCode::kInvalidArgument,
       "line 26: contexts: \"dev\" appears twice"},
      {"unknown current-context",
       {{"current-context: dev", "current-context: staging"}},
       "",
       absl::StatusCode::kInvalidArgument,
       "line 3: current-context: no context named \"staging\""},
      {"unknown asked-for context", {}, "staging", absl::StatusCode::kInvalidArgument,
       "no context named \"staging\""},
      {"context naming a missing cluster",
       {{"cluster: dev-cluster", "cluster: gone"}},
       "",
       absl::StatusCode::kInvalidArgument,
       "line 24: contexts \"dev\".cluster: no cluster named \"gone\""},
      {"context naming a missing user",
       {{"user: alice", "user: bob"}},
       "",
       absl::StatusCode::kInvalidArgument,
       "line 24: contexts \"dev\".user: no user named \"bob\""},
      {"cluster without a server",
       {{"server: https://10.0.0.1:6443", "proxy-url: http://p"}},
       "",
       absl::StatusCode::kInvalidArgument,
       "line 5: clusters \"dev-cluster\".server: missing"},
      {"exec plugin",
       {{"token: alice-token", "exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}"}},
       "",
       absl::StatusCode::kUnimplemented,
       "line 16: user \"alice\" authenticates with exec"},
      {"auth-provider plugin",
       {{"token: alice-token", "auth-provider: {name: gcp}"}},
       "",
       absl::StatusCode::kUnimplemented,
       "line 16: user \"alice\" authenticates with auth-provider"},
      {"missing CA file", {}, "prod", absl::StatusCode::kNotFound, "certs/ca.pem"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.name);
    std::string path = Write("config", absl::StrReplaceAll(kKubeconfig, test.replacements));
    EXPECT_THAT(LoadKubeconfig(path, test.context),
                StatusIs(test.code, AllOf(HasSubstr(path), HasSubstr(test.message))));
  }
}

TEST_F(ClientConfigTest, MissingKubeconfigIsNotFoundNamingIt) {
  std::string path = directory_ + "/absent";
  EXPECT_THAT(LoadKubeconfig(path, ""), StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
}

TEST_F(ClientConfigTest, DefaultKubeconfigIsTheFirstOfKubeconfigElseTheOneInHome) {
  std::string first = Write("first", kKubeconfig);
  std::string home_config =
      Write("home/.kube/config", absl::StrReplaceAll(kKubeconfig, {{"10.0.0.1", "10.0.0.2"}}));
  ScopedEnv home("HOME", directory_ + "/home");
  {
    ScopedEnv kubeconfig("KUBECONFIG", first + ":" + home_config);
    absl::StatusOr<ClientConfig> config = LoadKubeconfig("", "");
    FW_ASSERT_OK(config);
    EXPECT_EQ(config->server, "https://10.0.0.1:6443");
  }
  {
    ScopedEnv kubeconfig("KUBECONFIG", std::nullopt);
    absl::StatusOr<ClientConfig> config = LoadKubeconfig("", "");
    FW_ASSERT_OK(config);
    EXPECT_EQ(config->server, "https://10.0.0.2:6443");
    EXPECT_THAT(config->identity, HasSubstr(home_config));
  }
  absl::StatusOr<ClientConfig> tilde = LoadKubeconfig("~/.kube/config", "");
  FW_ASSERT_OK(tilde);
  EXPECT_EQ(tilde->server, "https://10.0.0.2:6443");
}

TEST_F(ClientConfigTest, InClusterConfigUsesTheServiceEnvironmentAndServiceAccountFiles) {
  InClusterPaths paths{.token_file = Write("sa/token", "sa-token"),
                       .ca_file = Write("sa/ca.crt", "SA-CA-PEM")};
  struct Case {
    std::string host;
    std::string server;
  };
  const Case cases[] = {{"10.96.0.1", "https://10.96.0.1:443"},
                        {"fd00::1", "https://[fd00::1]:443"}};
  for (const Case& test : cases) {
    SCOPED_TRACE(test.host);
    ScopedEnv host("KUBERNETES_SERVICE_HOST", test.host);
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
    absl::StatusOr<ClientConfig> config = LoadInClusterConfig(paths);
    FW_ASSERT_OK(config);
    EXPECT_EQ(config->server, test.server);
    EXPECT_EQ(config->certificate_authority, "SA-CA-PEM");
    EXPECT_EQ(config->bearer_token_file, paths.token_file);  // re-read as it rotates
    EXPECT_EQ(config->bearer_token, "");
    EXPECT_FALSE(config->insecure_skip_tls_verify);
    EXPECT_THAT(config->identity, HasSubstr(paths.token_file));
  }
}

TEST_F(ClientConfigTest, InClusterConfigFailsOutsideAPodOrWithoutItsFiles) {
  {
    ScopedEnv host("KUBERNETES_SERVICE_HOST", std::nullopt);
    EXPECT_THAT(LoadInClusterConfig({}),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("KUBERNETES_SERVICE")));
  }
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  std::string token = Write("token", "t");
  std::string ca = Write("ca.crt", "CA");
  std::string missing = directory_ + "/missing";
  EXPECT_THAT(LoadInClusterConfig({.token_file = missing, .ca_file = ca}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(missing)));
  EXPECT_THAT(LoadInClusterConfig({.token_file = token, .ca_file = missing}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(missing)));
}

// The whole path: a kubeconfig as kubeadm writes one for a node (CA and client
// certificate inline), loaded and used against a server that requires the certificate.
TEST_F(ClientConfigTest, KubeconfigWithAClientCertificateAuthenticatesToATlsServer) {
  TestCertificates pki;
  TestApiServer server(
      [](const TestRequest&, TestConnection& connection) {
        testing::WriteResponse(connection, 200, "{}");
      },
      {.tls = testing::TestTlsOptions{.certificate = pki.server.certificate,
                                      .key = pki.server.key,
                                      .client_ca = pki.ca.certificate()}});
  std::string path = Write(
      "node.conf",
      absl::StrCat("apiVersion: v1\nkind: Config\ncurrent-context: n1\nclusters:\n- name: c\n"
                   "  cluster:\n    server: ",
                   server.url(), "\n    certificate-authority-data: ",
                   absl::Base64Escape(pki.ca.certificate()),
                   "\nusers:\n- name: system:node:n1\n  user:\n    client-certificate-data: ",
                   absl::Base64Escape(pki.client.certificate),
                   "\n    client-key-data: ", absl::Base64Escape(pki.client.key),
                   "\ncontexts:\n- name: n1\n  context: {cluster: c, user: system:node:n1}\n"));
  absl::StatusOr<ClientConfig> config = LoadKubeconfig(path, "");
  FW_ASSERT_OK(config);
  absl::StatusOr<std::unique_ptr<HttpTransport>> transport = HttpTransport::Create(*config);
  FW_ASSERT_OK(transport);
  absl::StatusOr<ApiResponse> response = (*transport)->Get("/api/v1/namespaces", {});
  FW_ASSERT_OK(response);
  EXPECT_EQ(response->status, 200);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].client_certificate_subject, "CN=system:node:n1,O=flatwall");
}

}  // namespace
}  // namespace flatwall::apiwatch
