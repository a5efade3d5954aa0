// The agent's configuration: flags, their environment variables, precedence and errors.
#include "agent/daemon/agent_config.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent {
namespace {

using ::testing::HasSubstr;

// An environment for the parser that is not the process's.
class FakeEnvironment {
 public:
  explicit FakeEnvironment(std::map<std::string, std::string> variables)
      : variables_(std::move(variables)) {}
  std::function<const char*(const char*)> Getter() const {
    return [this](const char* name) -> const char* {
      auto it = variables_.find(name);
      return it == variables_.end() ? nullptr : it->second.c_str();
    };
  }

 private:
  std::map<std::string, std::string> variables_;
};

TEST(AgentConfigTest, FlagsSetEverySetting) {
  FakeEnvironment env(std::map<std::string, std::string>{});
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(
      {"--node-name", "node-1", "--source", "dir:/etc/flatwall", "--bpffs-root", "/sys/fs/bpf/x",
       "--verdict-log", "/var/log/v.jsonl", "--verdict-log-max-bytes", "1000",
       "--verdict-log-max-files", "3", "--listen", "127.0.0.1:9000", "--log-level", "debug",
       "--uplink", "eth0", "--conntrack-accounting"},
      env.Getter());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->node_name, "node-1");
  EXPECT_EQ(config->source.kind, SourceConfig::kDirectory);
  EXPECT_EQ(config->source.directory, "/etc/flatwall");
  EXPECT_EQ(config->bpffs_root, "/sys/fs/bpf/x");
  EXPECT_EQ(config->verdict_log, "/var/log/v.jsonl");
  EXPECT_EQ(config->verdict_log_max_bytes, 1000u);
  EXPECT_EQ(config->verdict_log_max_files, 3);
  EXPECT_EQ(config->listen, "127.0.0.1:9000");
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
  EXPECT_EQ(config->uplink, "eth0");
  EXPECT_TRUE(config->conntrack_accounting);
  EXPECT_FALSE(config->uninstall);
}

TEST(AgentConfigTest, EnvironmentFillsFlagsNotGiven) {
  FakeEnvironment env({{"NODE_NAME", "ip-10-10-1-5"},
                       {"FLATWALL_SOURCE", "kubernetes"},
                       {"FLATWALL_LISTEN", "0.0.0.0:9555"},
                       {"FLATWALL_LOG_LEVEL", "warn"}});
  absl::StatusOr<AgentConfig> config = ParseAgentConfig({"--listen=127.0.0.1:1"}, env.Getter());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->node_name, "ip-10-10-1-5");
  EXPECT_EQ(config->source.kind, SourceConfig::kKubernetes);
  EXPECT_EQ(config->listen, "127.0.0.1:1");  // the flag wins over FLATWALL_LISTEN
  EXPECT_EQ(config->log_level, LogLevel::kWarning);
  EXPECT_EQ(config->bpffs_root, "/sys/fs/bpf/flatwall");  // the default
  EXPECT_EQ(config->verdict_log, "-");
  EXPECT_FALSE(config->conntrack_accounting);  // the default
}

TEST(AgentConfigTest, BooleanFlagAloneIsTrueAndTakesAnExplicitValueOrItsVariable) {
  struct Case {
    std::vector<std::string> args;
    const char* variable;  // FLATWALL_CONNTRACK_ACCOUNTING, or nullptr
    bool expected;
  };
  const Case cases[] = {
      {{}, nullptr, false},
      {{"--conntrack-accounting"}, nullptr, true},
      {{"--conntrack-accounting=true"}, nullptr, true},
      {{"--conntrack-accounting=false"}, nullptr, false},
      {{}, "true", true},
      {{}, "false", false},
      {{"--conntrack-accounting=false"}, "true", false},  // the flag wins
      {{"--conntrack-accounting"}, "false", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.args.empty() ? "(no flag)" : c.args[0], " with variable ",
                              c.variable ? c.variable : "(unset)"));
    std::map<std::string, std::string> variables = {{"NODE_NAME", "n"},
                                                    {"FLATWALL_SOURCE", "dir:/m"}};
    if (c.variable != nullptr) variables["FLATWALL_CONNTRACK_ACCOUNTING"] = c.variable;
    FakeEnvironment env(variables);
    absl::StatusOr<AgentConfig> config = ParseAgentConfig(c.args, env.Getter());
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->conntrack_accounting, c.expected);
  }
}

TEST(AgentConfigTest, EmptyVariableCountsAsUnset) {
  FakeEnvironment env({{"NODE_NAME", ""}, {"FLATWALL_SOURCE", "dir:/m"}});
  absl::StatusOr<AgentConfig> config = ParseAgentConfig({}, env.Getter());
  EXPECT_THAT(config, testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NODE_NAME")));
}

TEST(AgentConfigTest, UninstallNeedsNoNodeOrSource) {
  FakeEnvironment env(std::map<std::string, std::string>{});
  absl::StatusOr<AgentConfig> config =
      ParseAgentConfig({"--uninstall", "--bpffs-root", "/sys/fs/bpf/y"}, env.Getter());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->uninstall);
  EXPECT_EQ(config->bpffs_root, "/sys/fs/bpf/y");
}

TEST(AgentConfigTest, BadValuesNameTheFlagAndVariable) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const Case cases[] = {
      {{"--source", "http://x"}, "--source (FLATWALL_SOURCE) \"http://x\""},
      {{"--source", "dir:"}, "expected dir:PATH or kubernetes"},
      {{"--listen", "9464"}, "--listen (FLATWALL_LISTEN) \"9464\": expected HOST:PORT"},
      {{"--listen", "h:70000"}, "expected HOST:PORT"},
      {{"--log-level", "loud"}, "--log-level (FLATWALL_LOG_LEVEL)"},
      {{"--verdict-log-max-bytes", "0"}, "expected a positive number"},
      {{"--verdict-log-max-files", "x"}, "--verdict-log-max-files"},
      {{"--nodename", "n"}, "unknown option --nodename"},
      {{"--listen"}, "option --listen needs a value"},
      {{"stray"}, "unexpected argument \"stray\""},
      {{"--conntrack-accounting=maybe"},
       "--conntrack-accounting (FLATWALL_CONNTRACK_ACCOUNTING) \"maybe\": expected true or false"},
      // A boolean's value is given with '=': a separate word is an argument.
      {{"--conntrack-accounting", "false"}, "unexpected argument \"false\""},
  };
  FakeEnvironment env({{"NODE_NAME", "n"}, {"FLATWALL_SOURCE", "dir:/m"}});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args[0]);
    absl::StatusOr<AgentConfig> config = ParseAgentConfig(c.args, env.Getter());
    EXPECT_THAT(config,
                testing::StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.expected)));
  }
}

TEST(AgentConfigTest, BadBooleanVariableNamesTheFlagAndVariable) {
  FakeEnvironment env({{"NODE_NAME", "n"},
                       {"FLATWALL_SOURCE", "dir:/m"},
                       {"FLATWALL_CONNTRACK_ACCOUNTING", "on!"}});
  EXPECT_THAT(ParseAgentConfig({}, env.Getter()),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("(FLATWALL_CONNTRACK_ACCOUNTING) \"on!\"")));
}

TEST(AgentConfigTest, MissingSourceIsAnError) {
  FakeEnvironment env(std::map<std::string, std::string>{{"NODE_NAME", "n"}});
  absl::StatusOr<AgentConfig> config = ParseAgentConfig({}, env.Getter());
  EXPECT_THAT(config, testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("source is missing")));
}

TEST(AgentConfigTest, KubernetesSourceTakesKubeconfigAndContext) {
  FakeEnvironment env(std::map<std::string, std::string>{{"NODE_NAME", "n"}});
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(
      {"--source", "kubernetes", "--kubeconfig", "/etc/k/config", "--context", "dev"},
      env.Getter());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->source.kind, SourceConfig::kKubernetes);
  EXPECT_EQ(config->source.kubeconfig, "/etc/k/config");
  EXPECT_EQ(config->source.context, "dev");
}

TEST(AgentConfigTest, KubeconfigAndContextComeFromTheirVariables) {
  FakeEnvironment env({{"NODE_NAME", "n"},
                       {"FLATWALL_SOURCE", "kubernetes"},
                       {"KUBECONFIG", "/a/config:/b/config"},
                       {"FLATWALL_KUBE_CONTEXT", "prod"}});
  absl::StatusOr<AgentConfig> config = ParseAgentConfig({}, env.Getter());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->source.kubeconfig, "/a/config");  // the first file of the list
  EXPECT_EQ(config->source.context, "prod");
}

TEST(AgentConfigTest, InsideAClusterTheSourceDefaultsToKubernetes) {
  FakeEnvironment env({{"NODE_NAME", "n"}, {"KUBERNETES_SERVICE_HOST", "10.100.0.1"}});
  absl::StatusOr<AgentConfig> config = ParseAgentConfig({}, env.Getter());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->source.kind, SourceConfig::kKubernetes);
  EXPECT_EQ(config->source.kubeconfig, "");

  // An explicit source wins.
  config = ParseAgentConfig({"--source", "dir:/m"}, env.Getter());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->source.kind, SourceConfig::kDirectory);
}

TEST(AgentConfigTest, KubeconfigFlagsWithADirectorySourceAreErrorsButTheVariableIsIgnored) {
  FakeEnvironment env({{"NODE_NAME", "n"}, {"KUBECONFIG", "/root/.kube/config"}});
  absl::StatusOr<AgentConfig> config = ParseAgentConfig({"--source", "dir:/m"}, env.Getter());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->source.kubeconfig, "");

  for (const char* flag : {"--kubeconfig", "--context"}) {
    SCOPED_TRACE(flag);
    config = ParseAgentConfig({"--source", "dir:/m", flag, "x"}, env.Getter());
    EXPECT_THAT(config, testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("only with --source kubernetes")));
  }
}

TEST(AgentConfigTest, UsageListsEveryFlagWithItsVariable) {
  std::string usage = AgentUsage();
  for (const char* text : {"--node-name (NODE_NAME", "--source (FLATWALL_SOURCE",
                           "--bpffs-root (FLATWALL_BPFFS_ROOT", "--verdict-log (FLATWALL_VERDICT_LOG",
                           "--listen (FLATWALL_LISTEN", "--log-level (FLATWALL_LOG_LEVEL",
                           "--uplink (FLATWALL_UPLINK", "--kubeconfig (KUBECONFIG",
                           "--context (FLATWALL_KUBE_CONTEXT",
                           "--conntrack-accounting (FLATWALL_CONNTRACK_ACCOUNTING, default false)",
                           "--uninstall"}) {
    EXPECT_THAT(usage, HasSubstr(text));
  }
}

}  // namespace
}  // namespace flatwall::agent
