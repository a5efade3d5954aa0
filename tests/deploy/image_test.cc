// The container image, built by deploy/build-image.sh from this build's binaries and run
// with podman the way deploy/flatwall.yaml runs it: the agent container with exactly the
// DaemonSet's capabilities (everything else dropped), a read-only root, no new privileges,
// the host's /sys/fs/bpf mounted with HostToContainer propagation and the DaemonSet's
// environment — but the directory source instead of the API server, a pin root of its own
// (/sys/fs/bpf/fwt-image-<pid>) and, instead of the host network, a node namespace of the
// test's own with an uplink and one pod veth (the pod and the VPC beyond the uplink in
// namespaces of their own), so real TCP through the node shows the policy enforced by the
// containerised agent. Also the init container's bpffs mount and
// the uninstall container. Every container, the image, the namespaces, the pins and the
// files are removed at the end, also when a test fails.
//
// Needs root and podman (installed with apt-get when missing); skips with the reason when
// podman cannot be installed or cannot run a container here — build-image.sh has by then
// proven the image's contents (chroot: every library resolves, every binary starts).
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "abi/datapath_maps.h"
#include "abi/policy_maps.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/lab/agent_http.h"
#include "agent/lab/netns.h"
#include "agent/lab/pod_sockets.h"
#include "agent/lab/run_command.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "yaml-cpp/yaml.h"

#ifndef FLATWALL_BUILD_DIR
#error "FLATWALL_BUILD_DIR must name the build directory (tests/deploy/CMakeLists.txt)"
#endif

namespace flatwall::deploy {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNodeName[] = "fwt-node";
constexpr char kPodAddress[] = "10.60.0.1";
constexpr char kRemotePodAddress[] = "10.61.0.1";  // pod r, on another node
constexpr char kManifestMount[] = "/etc/flatwall/manifests";
constexpr auto kReadyTimeout = std::chrono::seconds(30);

constexpr char kCluster[] = R"(apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {nodeName: fwt-node, containers: [{name: c, image: i}]}
status: {podIP: 10.60.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: r, namespace: x, labels: {app: r}}
spec: {nodeName: elsewhere, containers: [{name: c, image: i}]}
status: {podIP: 10.61.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-from-r, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{from: [{podSelector: {matchLabels: {app: r}}}], ports: [{port: 80}]}]
)";

// Whether a TCP connection from `source`, made inside namespace `netns`, to
// `destination`:`port` is accepted within a second (a dropped SYN times out).
bool Connects(const std::string& netns, const std::string& source,
              const std::string& destination, uint16_t port) {
  int fd = -1;
  absl::Status opened = lab::RunInNetns(netns, [&]() -> absl::Status {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in bound = lab::Ipv4SocketAddress(*compiler::IpAddress::Parse(source), 0);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&bound), sizeof(bound)) != 0) {
      return absl::InternalError("socket/bind in the remote namespace");
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(opened.ok()) << opened;
  if (!opened.ok()) {
    if (fd >= 0) close(fd);
    return false;
  }
  sockaddr_in target = lab::Ipv4SocketAddress(*compiler::IpAddress::Parse(destination), port);
  connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof(target));
  pollfd writable{fd, POLLOUT, 0};
  int error = ETIMEDOUT;
  if (poll(&writable, 1, 1000) == 1) {
    socklen_t length = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  }
  close(fd);
  return error == 0;
}

std::string Trimmed(const std::string& text) {
  return std::string(absl::StripAsciiWhitespace(text));
}

// podman, run in a private mount namespace without the cgroup2 mount: on a host with
// hybrid cgroups whose v2 hierarchy holds a controller (this machine), crun refuses to
// start a container ("cgroups in hybrid mode not supported"); without the v2 mount it uses
// the v1 hierarchies. Harmless where there is no such mount. The unmount never leaves the
// private namespace.
// With `with_stderr`, podman's stderr comes back with its stdout (for `podman logs`).
std::vector<std::string> Podman(const std::vector<std::string>& args, bool with_stderr = false) {
  std::vector<std::string> argv = {
      "unshare", "--mount", "--propagation", "slave", "--", "sh", "-c",
      absl::StrCat("umount /sys/fs/cgroup/unified 2>/dev/null; exec podman \"$@\"",
                   with_stderr ? " 2>&1" : ""),
      "podman"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// `podman run` arguments that pin the container's RLIMIT_NOFILE/NPROC to what podman can
// set without CAP_SYS_RESOURCE (which this machine's root lacks): podman's defaults raise
// them, and podman 4.3 lowers its own RLIMIT_NPROC to 32768 before starting the runtime.
std::vector<std::string> UlimitArgs() {
  rlimit files{};
  rlimit processes{};
  getrlimit(RLIMIT_NOFILE, &files);
  getrlimit(RLIMIT_NPROC, &processes);
  const rlim_t nproc = std::min<rlim_t>(processes.rlim_max, 32768);
  return {"--ulimit", absl::StrCat("nofile=", files.rlim_max, ":", files.rlim_max), "--ulimit",
          absl::StrCat("nproc=", nproc, ":", nproc)};
}

std::vector<std::string> Strings(const YAML::Node& sequence) {
  std::vector<std::string> values;
  for (const YAML::Node& item : sequence) values.push_back(item.as<std::string>());
  return values;
}

// What the test takes from deploy/flatwall.yaml's agent container.
struct AgentContainerSpec {
  std::vector<std::string> capabilities;        // securityContext.capabilities.add
  std::string seccomp;                          // securityContext.seccompProfile.type
  std::map<std::string, std::string> env;       // plain values only (no valueFrom)
  std::string bpffs_mount;                      // mountPath of the hostPath /sys/fs/bpf
  int listen_port = 0;                          // the "metrics" containerPort
  std::vector<std::string> init_command;        // the mount-bpffs init container's command
};

AgentContainerSpec ReadAgentContainerSpec() {
  AgentContainerSpec spec;
  const std::vector<YAML::Node> documents =
      YAML::LoadAllFromFile(absl::StrCat(FLATWALL_SOURCE_DIR, "/deploy/flatwall.yaml"));
  for (const YAML::Node& document : documents) {
    if (document["kind"].as<std::string>("") != "DaemonSet") continue;
    const YAML::Node pod = document["spec"]["template"]["spec"];
    for (const YAML::Node& container : pod["containers"]) {
      if (container["name"].as<std::string>() != "agent") continue;
      spec.capabilities = Strings(container["securityContext"]["capabilities"]["add"]);
      spec.seccomp =
          container["securityContext"]["seccompProfile"]["type"].as<std::string>("RuntimeDefault");
      for (const YAML::Node& variable : container["env"]) {
        if (variable["value"]) {
          spec.env[variable["name"].as<std::string>()] = variable["value"].as<std::string>();
        }
      }
      for (const YAML::Node& port : container["ports"]) {
        if (port["name"].as<std::string>("") == "metrics") {
          spec.listen_port = port["containerPort"].as<int>();
        }
      }
      for (const YAML::Node& mount : container["volumeMounts"]) {
        spec.bpffs_mount = mount["mountPath"].as<std::string>();
      }
    }
    for (const YAML::Node& container : pod["initContainers"]) {
      spec.init_command = Strings(container["command"]);
    }
  }
  return spec;
}

class ImageTest : public ::testing::Test {
 protected:
  // Builds the image once for the suite; on failure every test skips or fails with why.
  static void SetUpTestSuite() {
    if (geteuid() != 0) {
      skip_reason_ = "needs root (podman, chroot, namespaces, BPF); CI runs as root";
      return;
    }
    if (!lab::FindProgram("podman").ok()) {
      // Not through RunCommand: its 60 s deadline would kill apt-get in the middle of
      // dpkg. The test's own ctest TIMEOUT bounds this.
      const int status = std::system(
          "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
          "podman > /dev/null 2>&1");
      if (status != 0 || !lab::FindProgram("podman").ok()) {
        skip_reason_ = absl::StrCat(
            "podman is not installed and `apt-get install podman` failed (status ", status,
            "); the image needs podman (or buildah) to be built and run");
        return;
      }
    }
    const std::string script = absl::StrCat(FLATWALL_SOURCE_DIR, "/deploy/build-image.sh");
    // Staging alone, without podman, proves the image's contents: inside the staged root
    // (chroot) every library resolves and every binary starts. Its failure is a failure.
    const std::string staged = absl::StrCat("/tmp/fwt-image-stage-", getpid());
    absl::StatusOr<std::string> staging = lab::RunCommand(
        {"bash", script, "--build-dir", FLATWALL_BUILD_DIR, "--stage-only", staged});
    std::filesystem::remove_all(staged);
    if (!staging.ok()) {
      build_error_ = staging.status().ToString();
      return;
    }
    repository_ = absl::StrCat("localhost/fwt-image-", getpid(), "/flatwall-agent");
    // In a private mount namespace, as Podman() runs podman, so that no storage mount
    // podman makes outlives the build.
    absl::StatusOr<std::string> built = lab::RunCommand(
        {"unshare", "--mount", "--propagation", "slave", "--", "bash", script, "--build-dir",
         FLATWALL_BUILD_DIR, "--repository", repository_});
    if (!built.ok()) {
      // E.g. a chroot whose / is not a mount point: podman's storage cannot remount it.
      skip_reason_ = absl::StrCat(
          "podman cannot build an image here (", built.status().ToString(),
          "); the image's contents were proven by `build-image.sh --stage-only` instead: "
          "inside the staged root (chroot) every library resolves and every binary starts");
      return;
    }
    std::vector<std::string> lines = absl::StrSplit(Trimmed(*built), '\n');
    image_ = lines.back();
    // Can podman run a container here at all?
    std::vector<std::string> run = {"run", "--rm", "--network", "none"};
    for (const std::string& arg : UlimitArgs()) run.push_back(arg);
    run.insert(run.end(), {image_, "--help"});
    absl::StatusOr<std::string> help = lab::RunCommand(Podman(run));
    if (!help.ok()) {
      skip_reason_ = absl::StrCat(
          "podman cannot run a container here (", help.status().ToString(),
          "); the image's contents were proven by build-image.sh instead: inside the staged "
          "root (chroot) every library resolves and every binary starts");
    }
  }

  static void TearDownTestSuite() {
    if (!image_.empty()) (void)lab::RunCommand(Podman({"rmi", "--force", image_}));
    image_.clear();
  }

  void SetUp() override {
    if (!build_error_.empty()) FAIL() << "deploy/build-image.sh failed: " << build_error_;
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    tag_ = absl::StrCat("fwt-image-", getpid());
    char dir_template[] = "/tmp/fwt-image-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
  }

  void TearDown() override {
    for (const std::string& container : containers_) {
      (void)lab::RunCommand(Podman({"rm", "--force", "--time", "1", container}));
    }
    for (const std::string& netns : namespaces_) FW_EXPECT_OK(lab::DeleteNetns(netns));
    std::error_code ignored;
    if (!pin_root_.empty()) fs::remove_all(pin_root_, ignored);
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }

  std::string MakeNetns(const std::string& name) {
    EXPECT_TRUE(lab::DeleteNetns(name).ok());  // a leftover of a crashed run
    namespaces_.push_back(name);
    EXPECT_TRUE(lab::CreateNetns(name).ok()) << name;
    return name;
  }

  // `podman run` with the agent container's privileges and mounts from the DaemonSet.
  std::vector<std::string> RunWithAgentPrivileges(const AgentContainerSpec& spec,
                                                  const std::string& name,
                                                  const std::string& netns) {
    std::vector<std::string> args = {"run", "--name", name, "--network",
                                     absl::StrCat("ns:", lab::NetnsPath(netns)), "--cap-drop=all"};
    for (const std::string& capability : spec.capabilities) {
      args.push_back(absl::StrCat("--cap-add=CAP_", capability));
    }
    // RuntimeDefault is podman's own default profile; a Localhost profile has no
    // counterpart here and fails the test below.
    if (spec.seccomp == "Unconfined") {
      args.insert(args.end(), {"--security-opt", "seccomp=unconfined"});
    }
    // Kubernetes' readOnlyRootFilesystem has no writable /tmp or /run, unlike podman's
    // --read-only alone.
    args.insert(args.end(), {"--read-only", "--read-only-tmpfs=false", "--security-opt",
                             "no-new-privileges", "--volume",
                             absl::StrCat("/sys/fs/bpf:", spec.bpffs_mount, ":rslave")});
    for (const std::string& arg : UlimitArgs()) args.push_back(arg);
    containers_.push_back(name);
    return args;
  }

  static std::string repository_;
  static std::string image_;
  static std::string build_error_;
  static std::string skip_reason_;

  std::string tag_;
  std::string dir_;
  std::string pin_root_;
  std::vector<std::string> containers_;
  std::vector<std::string> namespaces_;
};

std::string ImageTest::repository_;
std::string ImageTest::image_;
std::string ImageTest::build_error_;
std::string ImageTest::skip_reason_;

TEST_F(ImageTest, ImageIsTaggedWithTheBuildVersionAndHoldsBothCommands) {
  std::ifstream version_file(absl::StrCat(FLATWALL_SOURCE_DIR, "/VERSION"));
  std::string version;
  version_file >> version;
  EXPECT_EQ(image_, absl::StrCat(repository_, ":", version));

  absl::StatusOr<std::string> size =
      lab::RunCommand(Podman({"image", "inspect", "--format", "{{.Size}}", image_}));
  FW_ASSERT_OK(size);
  int64_t bytes = 0;
  ASSERT_TRUE(absl::SimpleAtoi(Trimmed(*size), &bytes)) << *size;
  std::cout << "image " << image_ << ": " << bytes / 1e6 << " MB\n";
  EXPECT_LT(bytes, 100'000'000) << "binaries and their libraries only";

  for (const char* binary : {"/usr/bin/flatwall-agent", "/usr/bin/flatwall"}) {
    SCOPED_TRACE(binary);
    std::vector<std::string> run = {"run", "--rm", "--network", "none", "--entrypoint", binary};
    for (const std::string& arg : UlimitArgs()) run.push_back(arg);
    run.insert(run.end(), {image_, "--help"});
    absl::StatusOr<std::string> help = lab::RunCommand(Podman(run));
    FW_ASSERT_OK(help);
    EXPECT_THAT(*help, HasSubstr("usage:"));
  }
}

TEST_F(ImageTest, InitContainerMountsBpffsOnlyWhereItIsMissing) {
  const AgentContainerSpec spec = ReadAgentContainerSpec();
  ASSERT_EQ(spec.init_command.size(), 1u);
  // A plain directory stands for a host without bpffs; the mount stays in the container
  // (private propagation), so the host never sees it. Run twice: mount, then leave it.
  const std::string host_dir = dir_ + "/bpf";
  fs::create_directory(host_dir);
  const std::string name = tag_ + "-init";
  containers_.push_back(name);
  std::vector<std::string> run = {"run", "--rm", "--name", name, "--network", "none",
                                  "--privileged", "--volume", host_dir + ":/sys/fs/bpf",
                                  "--entrypoint", "/usr/bin/sh"};
  for (const std::string& arg : UlimitArgs()) run.push_back(arg);
  run.insert(run.end(), {image_, "-c",
                         absl::StrCat(spec.init_command[0], " && ", spec.init_command[0])});
  absl::StatusOr<std::string> output = lab::RunCommand(Podman(run));
  FW_ASSERT_OK(output);
  EXPECT_EQ(*output, "mounted bpffs at /sys/fs/bpf\nbpffs already mounted at /sys/fs/bpf\n");
  EXPECT_TRUE(fs::is_empty(host_dir));
}

TEST_F(ImageTest, AgentFromTheImageEnforcesWithTheDaemonSetsPrivilegesAndUninstallCleansUp) {
  const AgentContainerSpec spec = ReadAgentContainerSpec();
  ASSERT_FALSE(spec.capabilities.empty());
  ASSERT_TRUE(spec.seccomp == "RuntimeDefault" || spec.seccomp == "Unconfined") << spec.seccomp;
  ASSERT_EQ(spec.bpffs_mount, "/sys/fs/bpf");
  ASSERT_NE(spec.listen_port, 0);

  // The node: an uplink with the default route and one pod's veth with its /32 route, as
  // the VPC CNI leaves them (the pod reaches the node by proxy ARP). The pod lives in a
  // namespace of its own; the "VPC" beyond the uplink, with pod r of another node, in a
  // third.
  const std::string node = MakeNetns(tag_ + "-node");
  const std::string peer = MakeNetns(tag_ + "-peer");
  const std::string pod = MakeNetns(tag_ + "-pod");
  FW_ASSERT_OK(lab::WriteSysctls(node, {{"net.ipv4.ip_forward", "1"}}));
  FW_ASSERT_OK(lab::RunIpBatch(
      node, {"link set lo up", absl::StrCat("link add eth0 type veth peer name up0 netns ", peer),
             "link set eth0 up", "addr add 10.10.0.5/24 dev eth0",
             "route add default via 10.10.0.1",
             absl::StrCat("link add vpod type veth peer name eth0 netns ", pod),
             "link set vpod up", absl::StrCat("route add ", kPodAddress, "/32 dev vpod")}));
  FW_ASSERT_OK(lab::WriteSysctls(node, {{"net.ipv4.conf.vpod.proxy_arp", "1"}}));
  FW_ASSERT_OK(lab::RunIpBatch(peer, {"link set lo up", "link set up0 up",
                                      "addr add 10.10.0.1/24 dev up0",
                                      absl::StrCat("addr add ", kRemotePodAddress, "/32 dev up0"),
                                      "route add 10.60.0.0/16 via 10.10.0.5"}));
  FW_ASSERT_OK(lab::RunIpBatch(pod, {"link set lo up", "link set eth0 up",
                                     absl::StrCat("addr add ", kPodAddress, "/32 dev eth0"),
                                     "route add default dev eth0"}));
  // The pod serves ports 80 (which the policy allows from r) and 81 (which it does not).
  absl::StatusOr<int> port_80 = lab::ListenInNetns(pod, 80, 16);
  absl::StatusOr<int> port_81 = lab::ListenInNetns(pod, 81, 16);
  FW_ASSERT_OK(port_80);
  FW_ASSERT_OK(port_81);
  struct Closer {
    int a, b;
    ~Closer() {
      close(a);
      close(b);
    }
  } closer{*port_80, *port_81};
  // Without an agent, both ports answer: the network works and the test can fail.
  ASSERT_TRUE(Connects(peer, kRemotePodAddress, kPodAddress, 80));
  ASSERT_TRUE(Connects(peer, kRemotePodAddress, kPodAddress, 81));

  const std::string manifests = dir_ + "/manifests";
  fs::create_directory(manifests);
  std::ofstream(manifests + "/cluster.yaml") << kCluster;
  pin_root_ = absl::StrCat("/sys/fs/bpf/", tag_);
  fs::remove_all(pin_root_);

  // The DaemonSet's environment, but the directory source and this test's pin root.
  std::map<std::string, std::string> env = spec.env;
  env["NODE_NAME"] = kNodeName;
  env["FLATWALL_SOURCE"] = absl::StrCat("dir:", kManifestMount);
  env["FLATWALL_BPFFS_ROOT"] = pin_root_;
  const std::string agent = tag_ + "-agent";
  std::vector<std::string> run = RunWithAgentPrivileges(spec, agent, node);
  run.insert(run.end(), {"--detach", "--volume", manifests + ":" + kManifestMount + ":ro"});
  for (const auto& [name, value] : env) run.insert(run.end(), {"--env", name + "=" + value});
  run.push_back(image_);
  FW_ASSERT_OK(lab::RunCommand(Podman(run)));

  int ready = 0;
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (ready != 200 && std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<lab::HttpReply> reply =
        lab::HttpGetInNetns(node, static_cast<uint16_t>(spec.listen_port), "/readyz");
    if (reply.ok()) ready = reply->status;
    if (ready != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  absl::StatusOr<std::string> logs = lab::RunCommand(Podman({"logs", agent}, /*with_stderr=*/true));
  ASSERT_EQ(ready, 200) << "agent log:\n" << logs.value_or(logs.status().ToString());
  absl::StatusOr<lab::HttpReply> healthz =
      lab::HttpGetInNetns(node, static_cast<uint16_t>(spec.listen_port), "/healthz");
  FW_ASSERT_OK(healthz);
  EXPECT_EQ(healthz->status, 200);

  for (const char* pin : {FW_PIN_PROG_FROM_POD, FW_PIN_PROG_TO_POD, FW_PIN_PROG_UPLINK,
                          FW_PIN_ENDPOINTS, FW_PIN_RULES, FW_PIN_CONNTRACK}) {
    EXPECT_TRUE(fs::exists(absl::StrCat(pin_root_, "/", pin))) << pin;
  }
  // The pod's veth gets its programs within a tick of the first sync.
  std::string ingress;
  for (int attempt = 0; attempt < 50 && ingress.find("fw_from_pod") == std::string::npos;
       ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ingress = lab::RunCommand(lab::InNetns(node, {"tc", "filter", "show", "dev", "vpod", "ingress"}))
                  .value_or("");
  }
  EXPECT_THAT(ingress, HasSubstr("fw_from_pod"));
  EXPECT_THAT(lab::RunCommand(lab::InNetns(node, {"tc", "filter", "show", "dev", "vpod", "egress"}))
                  .value_or(""),
              HasSubstr("fw_to_pod"));
  // Real traffic through the node: the policy's port passes, the other is dropped.
  EXPECT_TRUE(Connects(peer, kRemotePodAddress, kPodAddress, 80));
  EXPECT_FALSE(Connects(peer, kRemotePodAddress, kPodAddress, 81));
  logs = lab::RunCommand(Podman({"logs", agent}, /*with_stderr=*/true));
  EXPECT_THAT(logs.value_or(""), Not(HasSubstr(" error ")));

  // SIGTERM (what the kubelet sends): exit 0, enforcement stays pinned and attached.
  FW_ASSERT_OK(lab::RunCommand(Podman({"stop", "--time", "10", agent})));
  absl::StatusOr<std::string> exit_code =
      lab::RunCommand(Podman({"inspect", "--format", "{{.State.ExitCode}}", agent}));
  FW_ASSERT_OK(exit_code);
  EXPECT_EQ(Trimmed(*exit_code), "0");
  EXPECT_TRUE(fs::exists(absl::StrCat(pin_root_, "/", FW_PIN_ENDPOINTS)));
  EXPECT_THAT(lab::RunCommand(lab::InNetns(node, {"tc", "filter", "show", "dev", "vpod", "ingress"}))
                  .value_or(""),
              HasSubstr("fw_from_pod"));

  // The uninstall container (deploy/uninstall.yaml's command): no pins, no filters.
  std::vector<std::string> uninstall = RunWithAgentPrivileges(spec, tag_ + "-uninstall", node);
  uninstall.insert(uninstall.end(), {"--rm", image_, "--uninstall", "--bpffs-root", pin_root_});
  FW_ASSERT_OK(lab::RunCommand(Podman(uninstall)));
  EXPECT_FALSE(fs::exists(pin_root_));
  for (const char* device : {"vpod", "eth0"}) {
    for (const char* hook : {"ingress", "egress"}) {
      SCOPED_TRACE(absl::StrCat(device, " ", hook));
      EXPECT_THAT(lab::RunCommand(lab::InNetns(node, {"tc", "filter", "show", "dev", device, hook}))
                      .value_or("unreadable"),
                  Not(HasSubstr("fw_")));
    }
  }
}

}  // namespace
}  // namespace flatwall::deploy
