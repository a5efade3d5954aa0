#include "tests/lab/agent_lab_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/lab/agent_http.h"
#include "agent/lab/lab_names.h"
#include "agent/lab/manifest_units.h"
#include "agent/lab/netns.h"
#include "agent/lab/pod_sockets.h"
#include "gtest/gtest.h"
#include "policy-compiler/compiler.h"
#include "policy-compiler/manifest_decoder.h"
#include "policy-compiler/reachability.h"
#include "tests/testing/reachability_cluster.h"

namespace flatwall::lab {

namespace fs = std::filesystem;

const char kOnlyFromYPolicy[] = R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: only-from-y}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: 'y'}}
)";

namespace {

// `fd` connected to ip:port within `timeout` (a non-blocking connect, then poll).
bool ConnectWithin(int fd, const compiler::IpAddress& ip, uint16_t port,
                   std::chrono::milliseconds timeout) {
  sockaddr_in address = Ipv4SocketAddress(ip, port);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 &&
      errno != EINPROGRESS) {
    return false;
  }
  pollfd pending{fd, POLLOUT, 0};
  int error = 0;
  socklen_t length = sizeof(error);
  return poll(&pending, 1, static_cast<int>(timeout.count())) == 1 &&
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
}

// One line from `fd` within `timeout` (the newline stripped); empty on timeout or EOF.
std::string ReadLine(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char c;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd readable{fd, POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (poll(&readable, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) != 1) break;
    if (read(fd, &c, 1) != 1) break;
    if (c == '\n') return line;
    line.push_back(c);
  }
  return "";
}

}  // namespace

void AgentLabTest::SetUp() {
  RealLabTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  UpOptions options;
  options.name = lab_name_;
  options.flatwall_binary = FlatwallBinary();
  options.files = {temp_.Write("cluster.yaml", testing::E2eClusterYaml())};
  absl::StatusOr<TopologyPlan> plan = LabUp(options);
  ASSERT_TRUE(plan.ok()) << plan.status();
  plan_ = *plan;
}

AgentLauncher AgentLabTest::Launcher() const {
  absl::StatusOr<LabState> state = LabStatus(lab_name_);
  EXPECT_TRUE(state.ok() && state->agent) << state.status();
  return AgentLauncher(LabNames(lab_name_), state.ok() && state->agent ? *state->agent : "");
}

const PodPlan& AgentLabTest::Pod(const std::string& key) const {
  const PodPlan* pod = plan_.FindPod(key);
  if (pod == nullptr) {
    ADD_FAILURE() << "no pod " << key;
    return plan_.pods.front();
  }
  return *pod;
}

const NodePlan& AgentLabTest::NodeOf(const std::string& pod_key) const {
  for (const NodePlan& node : plan_.nodes) {
    if (node.name == Pod(pod_key).node) return node;
  }
  ADD_FAILURE() << "no node for " << pod_key;
  return plan_.nodes.front();
}

void AgentLabTest::Apply(const std::string& file_name, const std::string& yaml) {
  ApplyOptions options;
  options.name = lab_name_;
  options.files = {temp_.Write(file_name, yaml)};
  absl::StatusOr<ApplyReport> report = LabApply(options);
  ASSERT_TRUE(report.ok()) << report.status();
  plan_ = report->plan;
}

void AgentLabTest::Delete(const std::string& file_name) {
  ApplyOptions options;
  options.name = lab_name_;
  options.delete_files = {absl::StrCat(temp_.path(), "/", file_name)};
  absl::StatusOr<ApplyReport> report = LabApply(options);
  ASSERT_TRUE(report.ok()) << report.status();
  plan_ = report->plan;
}

void AgentLabTest::WriteToAgents(const std::string& file_name, const std::string& contents) const {
  LabNames names(lab_name_);
  for (const NodePlan& node : plan_.nodes) {
    std::string path = absl::StrCat(names.NodeManifestDir(node.name), "/", file_name);
    std::ofstream(path + ".tmp", std::ios::trunc) << contents;
    fs::rename(path + ".tmp", path);
  }
}

void AgentLabTest::RemoveFromAgents(const std::string& file_name) const {
  LabNames names(lab_name_);
  for (const NodePlan& node : plan_.nodes) {
    fs::remove(absl::StrCat(names.NodeManifestDir(node.name), "/", file_name));
  }
}

void AgentLabTest::WaitForAgents() const {
  AgentLauncher launcher = Launcher();
  for (const NodePlan& node : plan_.nodes) {
    absl::Status synced = launcher.WaitUntilSynced(node);
    EXPECT_TRUE(synced.ok()) << synced;
  }
}

void AgentLabTest::KillAgents() const {
  AgentLauncher launcher = Launcher();
  for (const NodePlan& node : plan_.nodes) {
    absl::Status killed = launcher.Kill(node);
    EXPECT_TRUE(killed.ok()) << killed;
  }
}

void AgentLabTest::StartAgents() const {
  AgentLauncher launcher = Launcher();
  for (const NodePlan& node : plan_.nodes) {
    absl::Status started = launcher.Start(node);
    EXPECT_TRUE(started.ok()) << started;
  }
}

bool AgentLabTest::Connects(const std::string& from, const std::string& to, uint16_t port,
                            std::chrono::milliseconds timeout) const {
  const PodPlan& server = Pod(to);
  bool answered = false;
  absl::Status status = RunInNetns(Pod(from).netns, [&]() -> absl::Status {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::InternalError("socket");
    if (ConnectWithin(fd, *server.ipv4, port, timeout) &&
        send(fd, "probe\n", 6, MSG_NOSIGNAL) == 6) {
      answered = ReadLine(fd, timeout) == to;
    }
    close(fd);
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  return answered;
}

std::vector<std::string> AgentLabTest::MismatchesWithModel(uint16_t port) const {
  // The model reads what the agents read: node-1's manifest directory.
  std::vector<std::string> mismatches;
  absl::StatusOr<std::vector<ManifestUnit>> units =
      ReadManifestUnits({LabNames(lab_name_).NodeManifestDir(plan_.nodes.front().name)});
  if (!units.ok()) return {absl::StrCat("manifests: ", units.status().message())};
  compiler::ClusterState state;
  for (const ManifestUnit& unit : *units) {
    compiler::DecodeResult decoded = compiler::DecodeManifest(unit.file_name, unit.text);
    for (compiler::ClusterObject& object : decoded.objects) {
      state.Apply({compiler::ClusterEvent::kUpsert, std::move(object)});
    }
  }
  compiler::MapImage image = compiler::Compile(state, {.all_nodes = true});
  std::map<std::pair<std::string, std::string>, bool> model;
  for (const compiler::ReachabilityResult& result : compiler::ComputeReachability(
           state, port, compiler::Protocol::kTcp, compiler::JudgeWithImage(image))) {
    model[{result.from, result.to}] = result.allowed;
  }
  const ProbeOptions options{port, compiler::Protocol::kTcp, false, std::chrono::milliseconds(700)};
  absl::StatusOr<std::vector<ProbeResult>> probed = LabProbe(lab_name_, options);
  if (!probed.ok()) return {absl::StrCat("probe: ", probed.status().message())};
  for (ProbeResult& result : *probed) {
    const std::string& from = result.reachability.from;
    const std::string& to = result.reachability.to;
    auto expected = model.find({from, to});
    ProbeAgainIfAllowedFlowTimedOut(plan_, expected != model.end() && expected->second, options,
                                    &result);
    if (expected == model.end() || expected->second != result.reachability.allowed) {
      mismatches.push_back(absl::StrCat(from, " -> ", to, ": probe ",
                                        std::string(ProbeOutcomeName(result.outcome)), ", model ",
                                        expected == model.end() ? "none"
                                        : expected->second      ? "allowed"
                                                                : "denied"));
    }
  }
  return mismatches;
}

std::string AgentLabTest::AgentGet(const std::string& node, const std::string& path) const {
  for (const NodePlan& plan_node : plan_.nodes) {
    if (plan_node.name != node) continue;
    absl::StatusOr<HttpReply> reply = HttpGetInNetns(plan_node.netns, kAgentListenPort, path);
    if (!reply.ok()) return absl::StrCat("error: ", reply.status().message());
    return absl::StrCat(reply->status, " ", reply->body);
  }
  return "no such node";
}

std::unique_ptr<PodConnection> PodConnection::Open(const PodPlan& client, const PodPlan& server,
                                                   uint16_t port) {
  int accepted = -1, connected = -1;
  absl::StatusOr<int> listener = ListenInNetns(server.netns, port, 1);
  absl::Status status = listener.status();
  if (status.ok()) {
    status = RunInNetns(client.netns, [&]() -> absl::Status {
      connected = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (!ConnectWithin(connected, *server.ipv4, port, std::chrono::milliseconds(2000))) {
        return absl::UnavailableError(absl::StrCat(client.key, " cannot connect to ", server.key));
      }
      return absl::OkStatus();
    });
  }
  if (status.ok()) {
    pollfd pending{*listener, POLLIN, 0};
    if (poll(&pending, 1, 2000) == 1) accepted = accept4(*listener, nullptr, nullptr, SOCK_CLOEXEC);
  }
  if (listener.ok()) close(*listener);
  EXPECT_TRUE(status.ok()) << status;
  if (!status.ok() || accepted < 0) {
    if (connected >= 0) close(connected);
    if (accepted >= 0) close(accepted);
    ADD_FAILURE() << "no connection " << client.key << " -> " << server.key << ":" << port;
    return nullptr;
  }
  return std::unique_ptr<PodConnection>(new PodConnection(connected, accepted));
}

PodConnection::~PodConnection() {
  close(client_);
  close(server_);
}

bool PodConnection::Exchange(std::chrono::milliseconds timeout) {
  return send(client_, "ping\n", 5, MSG_NOSIGNAL) == 5 && ReadLine(server_, timeout) == "ping" &&
         send(server_, "pong\n", 5, MSG_NOSIGNAL) == 5 && ReadLine(client_, timeout) == "pong";
}

}  // namespace flatwall::lab
