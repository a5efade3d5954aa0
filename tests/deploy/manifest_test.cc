// The Kubernetes manifests under deploy/, read with yaml-cpp and checked against the code
// they deploy: the RBAC rules against the collections the agent's Kubernetes source lists
// and watches with api-watch, the agent's environment and arguments against the agent's
// own flag parser (node name, source, bpffs root, listen port), the probes and ports
// against that listen address, the mounts against the bpffs root, and every image tag
// against the VERSION file the image build reads. Pure: no cluster, no root.
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/daemon/agent_config.h"
#include "agent/daemon/kubernetes_source.h"
#include "api-watch/api_object_decoder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "yaml-cpp/yaml.h"

namespace flatwall::deploy {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr char kNamespace[] = "flatwall-system";
constexpr char kImageRepository[] = "flatwall/flatwall-agent";
constexpr char kBpffsHostPath[] = "/sys/fs/bpf";
// What the downward API would put into an env var whose value comes from a fieldRef.
constexpr char kDownwardPlaceholder[] = "value-from-the-downward-api";

std::string SourcePath(const std::string& relative) {
  return absl::StrCat(FLATWALL_SOURCE_DIR, "/", relative);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string Version() {
  std::string version = ReadFile(SourcePath("VERSION"));
  return std::string(absl::StripAsciiWhitespace(version));
}

// Every document of a manifest file, in order; a parse error fails the test.
std::vector<YAML::Node> LoadDocuments(const std::string& relative) {
  try {
    return YAML::LoadAllFromFile(SourcePath(relative));
  } catch (const YAML::Exception& e) {
    ADD_FAILURE() << relative << ": " << e.what();
    return {};
  }
}

std::vector<std::string> Strings(const YAML::Node& sequence) {
  std::vector<std::string> values;
  for (const YAML::Node& item : sequence) values.push_back(item.as<std::string>());
  return values;
}

// The one object of `kind` named `name` among `documents`; a null node (and a failure)
// when there is none or more than one.
YAML::Node FindObject(const std::vector<YAML::Node>& documents, const std::string& kind,
                      const std::string& name) {
  YAML::Node found;
  int count = 0;
  for (const YAML::Node& document : documents) {
    if (document["kind"].as<std::string>("") == kind &&
        document["metadata"]["name"].as<std::string>("") == name) {
      found = document;
      ++count;
    }
  }
  EXPECT_EQ(count, 1) << kind << " " << name;
  return found;
}

YAML::Node FindNamed(const YAML::Node& sequence, const std::string& name) {
  for (const YAML::Node& item : sequence) {
    if (item["name"].as<std::string>("") == name) return item;
  }
  ADD_FAILURE() << "no item named " << name;
  return YAML::Node();
}

// The agent's configuration as the container would start it: its args and env through the
// agent's own parser, env values from fieldRefs replaced by kDownwardPlaceholder.
absl::StatusOr<agent::AgentConfig> ContainerAgentConfig(const YAML::Node& container) {
  std::map<std::string, std::string> env;
  for (const YAML::Node& variable : container["env"]) {
    env[variable["name"].as<std::string>()] = variable["valueFrom"]
                                                  ? kDownwardPlaceholder
                                                  : variable["value"].as<std::string>();
  }
  std::vector<std::string> args;
  if (container["args"]) args = Strings(container["args"]);
  return agent::ParseAgentConfig(args, [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

// The port of a "host:port" listen address.
int ListenPort(const std::string& listen) {
  int port = 0;
  std::vector<std::string> parts = absl::StrSplit(listen, ':');
  EXPECT_TRUE(absl::SimpleAtoi(parts.back(), &port)) << listen;
  return port;
}

class DaemonSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    documents_ = LoadDocuments("deploy/flatwall.yaml");
    ASSERT_FALSE(documents_.empty());
    daemon_set_ = FindObject(documents_, "DaemonSet", "flatwall-agent");
    ASSERT_TRUE(daemon_set_.IsMap());
    pod_ = daemon_set_["spec"]["template"]["spec"];
    agent_ = FindNamed(pod_["containers"], "agent");
    init_ = FindNamed(pod_["initContainers"], "mount-bpffs");
    ASSERT_TRUE(agent_.IsMap());
    ASSERT_TRUE(init_.IsMap());
  }

  // The volume a container mounts at `mount_path`: (volume, mount); nulls when none.
  std::pair<YAML::Node, YAML::Node> VolumeMountedAt(const YAML::Node& container,
                                                     const std::string& mount_path) {
    for (const YAML::Node& mount : container["volumeMounts"]) {
      if (mount["mountPath"].as<std::string>() == mount_path) {
        return {FindNamed(pod_["volumes"], mount["name"].as<std::string>()), mount};
      }
    }
    ADD_FAILURE() << "nothing mounted at " << mount_path;
    return {YAML::Node(), YAML::Node()};
  }

  std::vector<YAML::Node> documents_;
  YAML::Node daemon_set_;
  YAML::Node pod_;
  YAML::Node agent_;
  YAML::Node init_;
};

TEST(ManifestTest, InstallManifestHoldsExactlyTheExpectedObjects) {
  std::vector<std::tuple<std::string, std::string, std::string>> objects;
  for (const YAML::Node& document : LoadDocuments("deploy/flatwall.yaml")) {
    objects.emplace_back(document["kind"].as<std::string>(),
                         document["metadata"]["namespace"].as<std::string>(""),
                         document["metadata"]["name"].as<std::string>());
  }
  EXPECT_THAT(objects, ElementsAre(std::make_tuple("Namespace", "", kNamespace),
                                   std::make_tuple("ServiceAccount", kNamespace, "flatwall-agent"),
                                   std::make_tuple("ClusterRole", "", "flatwall-agent"),
                                   std::make_tuple("ClusterRoleBinding", "", "flatwall-agent"),
                                   std::make_tuple("DaemonSet", kNamespace, "flatwall-agent")));
}

TEST(ManifestTest, ClusterRoleGrantsListAndWatchOnExactlyTheCollectionsApiWatchFollows) {
  // (API group, resource, verb) for each resource the agent's Kubernetes source watches: a
  // collection path is /api/v1/<resource> (core group) or /apis/<group>/<version>/<resource>;
  // ResourceWatcher lists and watches it (all namespaces) and never GETs one object.
  std::set<std::tuple<std::string, std::string, std::string>> expected;
  for (apiwatch::ResourceKind kind : agent::KubernetesSourceOptions().kinds) {
    std::vector<std::string> parts =
        absl::StrSplit(std::string(apiwatch::CollectionPath(kind)), '/', absl::SkipEmpty());
    ASSERT_GE(parts.size(), 3u);
    const std::string group = parts[0] == "api" ? "" : parts[1];
    for (const char* verb : {"list", "watch"}) expected.emplace(group, parts.back(), verb);
  }

  YAML::Node role = FindObject(LoadDocuments("deploy/flatwall.yaml"), "ClusterRole",
                               "flatwall-agent");
  std::set<std::tuple<std::string, std::string, std::string>> granted;
  for (const YAML::Node& rule : role["rules"]) {
    EXPECT_FALSE(rule["resourceNames"]) << "a rule names objects";
    EXPECT_FALSE(rule["nonResourceURLs"]) << "a rule grants non-resource URLs";
    for (const std::string& group : Strings(rule["apiGroups"])) {
      for (const std::string& resource : Strings(rule["resources"])) {
        for (const std::string& verb : Strings(rule["verbs"])) {
          granted.emplace(group, resource, verb);
        }
      }
    }
  }
  EXPECT_EQ(granted, expected);
}

TEST(ManifestTest, ClusterRoleBindingBindsTheRoleToTheAgentServiceAccount) {
  std::vector<YAML::Node> documents = LoadDocuments("deploy/flatwall.yaml");
  YAML::Node binding = FindObject(documents, "ClusterRoleBinding", "flatwall-agent");
  EXPECT_EQ(binding["roleRef"]["kind"].as<std::string>(), "ClusterRole");
  EXPECT_EQ(binding["roleRef"]["name"].as<std::string>(), "flatwall-agent");
  ASSERT_EQ(binding["subjects"].size(), 1u);
  EXPECT_EQ(binding["subjects"][0]["kind"].as<std::string>(), "ServiceAccount");
  EXPECT_EQ(binding["subjects"][0]["name"].as<std::string>(), "flatwall-agent");
  EXPECT_EQ(binding["subjects"][0]["namespace"].as<std::string>(), kNamespace);
  YAML::Node daemon_set = FindObject(documents, "DaemonSet", "flatwall-agent");
  EXPECT_EQ(daemon_set["spec"]["template"]["spec"]["serviceAccountName"].as<std::string>(),
            "flatwall-agent");
}

TEST_F(DaemonSetTest, AgentTakesItsNodeNameFromTheDownwardApiAndReadsTheKubernetesApi) {
  YAML::Node node_name = FindNamed(agent_["env"], "NODE_NAME");
  EXPECT_EQ(node_name["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>(""), "spec.nodeName");

  absl::StatusOr<agent::AgentConfig> config = ContainerAgentConfig(agent_);
  FW_ASSERT_OK(config);
  EXPECT_EQ(config->node_name, kDownwardPlaceholder);
  EXPECT_EQ(config->source.kind, agent::SourceConfig::kKubernetes);
  EXPECT_FALSE(config->uninstall);
}

TEST_F(DaemonSetTest, AgentPinsUnderTheHostsBpffsMountedIntoTheContainer) {
  absl::StatusOr<agent::AgentConfig> config = ContainerAgentConfig(agent_);
  FW_ASSERT_OK(config);
  EXPECT_TRUE(absl::StartsWith(config->bpffs_root, absl::StrCat(kBpffsHostPath, "/")))
      << config->bpffs_root;

  auto [volume, mount] = VolumeMountedAt(agent_, kBpffsHostPath);
  ASSERT_TRUE(volume.IsMap());
  EXPECT_EQ(volume["hostPath"]["path"].as<std::string>(""), kBpffsHostPath);
  // The init container's mount on the host reaches the agent, whose own mounts stay put.
  EXPECT_EQ(mount["mountPropagation"].as<std::string>(""), "HostToContainer");
  EXPECT_FALSE(mount["readOnly"].as<bool>(false));
}

TEST_F(DaemonSetTest, InitContainerMountsBpffsOnTheHost) {
  EXPECT_THAT(Strings(init_["command"]), ElementsAre("/usr/lib/flatwall/mount-bpffs"));
  auto [volume, mount] = VolumeMountedAt(init_, kBpffsHostPath);
  ASSERT_TRUE(volume.IsMap());
  EXPECT_EQ(volume["hostPath"]["path"].as<std::string>(""), kBpffsHostPath);
  // Bidirectional, so the mount outlives the container; Kubernetes allows it only to
  // privileged containers.
  EXPECT_EQ(mount["mountPropagation"].as<std::string>(""), "Bidirectional");
  EXPECT_TRUE(init_["securityContext"]["privileged"].as<bool>(false));
}

TEST_F(DaemonSetTest, ProbesAndMetricsPortAreTheAgentsListenAddress) {
  absl::StatusOr<agent::AgentConfig> config = ContainerAgentConfig(agent_);
  FW_ASSERT_OK(config);
  const int listen_port = ListenPort(config->listen);
  EXPECT_TRUE(absl::StartsWith(config->listen, "0.0.0.0:")) << "kubelet probes the node's IP";

  YAML::Node port = FindNamed(agent_["ports"], "metrics");
  EXPECT_EQ(port["containerPort"].as<int>(0), listen_port);
  EXPECT_EQ(daemon_set_["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"]
                .as<std::string>(""),
            absl::StrCat(listen_port));

  const std::pair<const char*, const char*> kProbes[] = {{"livenessProbe", "/healthz"},
                                                         {"readinessProbe", "/readyz"}};
  for (const auto& [probe, path] : kProbes) {
    SCOPED_TRACE(probe);
    YAML::Node http = agent_[probe]["httpGet"];
    ASSERT_TRUE(http.IsMap());
    EXPECT_EQ(http["path"].as<std::string>(""), path);
    EXPECT_EQ(http["port"].as<std::string>(""), "metrics");
  }
}

TEST_F(DaemonSetTest, PodRunsOnEveryNodeInTheHostNetworkOneNodeAtATime) {
  EXPECT_TRUE(pod_["hostNetwork"].as<bool>(false));
  EXPECT_EQ(pod_["dnsPolicy"].as<std::string>(""), "ClusterFirstWithHostNet");
  EXPECT_EQ(pod_["priorityClassName"].as<std::string>(""), "system-node-critical");
  // A toleration with operator Exists and no key tolerates every taint.
  bool tolerates_everything = false;
  for (const YAML::Node& toleration : pod_["tolerations"]) {
    tolerates_everything |= toleration["operator"].as<std::string>("") == "Exists" &&
                            !toleration["key"] && !toleration["effect"];
  }
  EXPECT_TRUE(tolerates_everything);
  YAML::Node strategy = daemon_set_["spec"]["updateStrategy"];
  EXPECT_EQ(strategy["type"].as<std::string>(""), "RollingUpdate");
  EXPECT_EQ(strategy["rollingUpdate"]["maxUnavailable"].as<int>(0), 1);
  for (const auto& label : daemon_set_["spec"]["selector"]["matchLabels"]) {
    EXPECT_EQ(daemon_set_["spec"]["template"]["metadata"]["labels"][label.first.as<std::string>()]
                  .as<std::string>(""),
              label.second.as<std::string>());
  }
}

TEST_F(DaemonSetTest, AgentRunsWithOnlyTheCapabilitiesItWasMeasuredToNeed) {
  YAML::Node security = agent_["securityContext"];
  EXPECT_FALSE(security["privileged"].as<bool>(true));
  EXPECT_FALSE(security["allowPrivilegeEscalation"].as<bool>(true));
  EXPECT_TRUE(security["readOnlyRootFilesystem"].as<bool>(false));
  EXPECT_THAT(Strings(security["capabilities"]["drop"]), ElementsAre("ALL"));
  // docs/operations.md "Privileges": why each one, why CAP_SYS_ADMIN and CAP_SYS_RESOURCE
  // are not here, and why seccomp is unconfined (the price of no CAP_SYS_ADMIN).
  EXPECT_THAT(Strings(security["capabilities"]["add"]),
              UnorderedElementsAre("BPF", "PERFMON", "NET_ADMIN"));
  EXPECT_EQ(security["seccompProfile"]["type"].as<std::string>(""), "Unconfined");
}

TEST_F(DaemonSetTest, EveryContainerHasCpuAndMemoryRequestsAndLimits) {
  for (const YAML::Node& container : {agent_, init_}) {
    SCOPED_TRACE(container["name"].as<std::string>());
    for (const char* kind : {"requests", "limits"}) {
      for (const char* resource : {"cpu", "memory"}) {
        EXPECT_TRUE(container["resources"][kind][resource].IsScalar()) << kind << "." << resource;
      }
    }
  }
}

TEST(ManifestTest, EveryImageIsTaggedWithTheBuildVersion) {
  const std::string version = Version();
  ASSERT_FALSE(version.empty());
  const std::string expected = absl::StrCat(kImageRepository, ":", version);
  int images = 0;
  for (const char* file : {"deploy/flatwall.yaml", "deploy/uninstall.yaml"}) {
    for (const YAML::Node& document : LoadDocuments(file)) {
      if (document["kind"].as<std::string>("") != "DaemonSet") continue;
      const YAML::Node pod = document["spec"]["template"]["spec"];
      for (const char* list : {"initContainers", "containers"}) {
        for (const YAML::Node& container : pod[list]) {
          SCOPED_TRACE(absl::StrCat(file, ": ", container["name"].as<std::string>()));
          EXPECT_EQ(container["image"].as<std::string>(""), expected);
          ++images;
        }
      }
    }
  }
  EXPECT_EQ(images, 4);
}

TEST(ManifestTest, UninstallRemovesThePinsTheAgentMakesInTheHostNetwork) {
  YAML::Node agent_pod = FindObject(LoadDocuments("deploy/flatwall.yaml"), "DaemonSet",
                                    "flatwall-agent")["spec"]["template"]["spec"];
  absl::StatusOr<agent::AgentConfig> agent_config =
      ContainerAgentConfig(FindNamed(agent_pod["containers"], "agent"));
  FW_ASSERT_OK(agent_config);

  YAML::Node daemon_set = FindObject(LoadDocuments("deploy/uninstall.yaml"), "DaemonSet",
                                     "flatwall-uninstall");
  ASSERT_TRUE(daemon_set.IsMap());
  EXPECT_EQ(daemon_set["metadata"]["namespace"].as<std::string>(""), kNamespace);
  YAML::Node pod = daemon_set["spec"]["template"]["spec"];
  EXPECT_TRUE(pod["hostNetwork"].as<bool>(false)) << "filters live in the host's namespace";
  EXPECT_FALSE(pod["automountServiceAccountToken"].as<bool>(true));
  YAML::Node uninstall = FindNamed(pod["initContainers"], "uninstall");
  absl::StatusOr<agent::AgentConfig> config = ContainerAgentConfig(uninstall);
  FW_ASSERT_OK(config);
  EXPECT_TRUE(config->uninstall);
  EXPECT_EQ(config->bpffs_root, agent_config->bpffs_root);
  const YAML::Node agent_security = FindNamed(agent_pod["containers"], "agent")["securityContext"];
  EXPECT_EQ(Strings(uninstall["securityContext"]["capabilities"]["add"]),
            Strings(agent_security["capabilities"]["add"]));
  EXPECT_EQ(uninstall["securityContext"]["seccompProfile"]["type"].as<std::string>(""),
            agent_security["seccompProfile"]["type"].as<std::string>(""));
}

}  // namespace
}  // namespace flatwall::deploy
