// AgentProcessTest: a gtest fixture that runs the real `flatwall-agent` binary as a child
// process inside a network namespace of the test's own, with a manifest directory
// (holding kCluster) and a bpffs pin root of its own, and watches it from outside —
// exit codes and messages, /readyz and /metrics over HTTP, the pinned maps. Every process,
// namespace, pin root and directory is removed in TearDown, also when a test fails.
//
// Not here: the tests (agent_process_test.cc for the directory source,
// agent_kubernetes_test.cc for the Kubernetes API source).
#ifndef FLATWALL_TESTS_AGENT_AGENT_PROCESS_FIXTURE_H_
#define FLATWALL_TESTS_AGENT_AGENT_PROCESS_FIXTURE_H_

#include <bpf/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "abi/policy_maps.h"
#include "agent/datapath.h"
#include "agent/lab/agent_http.h"
#include "agent/lab/netns.h"
#include "gtest/gtest.h"
#include "policy-compiler/map_image.h"
#include "tests/agent/kernel_test_fixture.h"
#include "tests/testing/status_matchers.h"

#ifndef FLATWALL_AGENT_BINARY
#error "FLATWALL_AGENT_BINARY must name the flatwall-agent binary (tests/agent/CMakeLists.txt)"
#endif

namespace flatwall::agent::testing {

inline constexpr auto kReadyTimeout = std::chrono::seconds(20);
inline constexpr auto kExitTimeout = std::chrono::seconds(20);
inline constexpr auto kPollInterval = std::chrono::milliseconds(20);

// Two local pods of namespace x, one pod elsewhere, and a policy: enough for every table.
inline constexpr char kCluster[] = R"(apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {nodeName: node-1, containers: [{name: c, image: i}]}
status: {podIP: 10.60.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {nodeName: node-1, containers: [{name: c, image: i}]}
status: {podIP: 10.60.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: r, namespace: x, labels: {app: r}}
spec: {nodeName: node-2, containers: [{name: c, image: i}]}
status: {podIP: 10.61.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-from-b, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  ingress: [{from: [{podSelector: {matchLabels: {app: b}}}], ports: [{port: 80}]}]
)";

inline constexpr char kLatePod[] = R"(apiVersion: v1
kind: Pod
metadata: {name: c, namespace: x, labels: {app: c}}
spec: {nodeName: node-1, containers: [{name: c, image: i}]}
status: {podIP: 10.60.0.3}
)";

struct Exit {
  int code = -1;  // the exit status; 128 + N for a death by signal N; -1 when it hung
  std::string output;
};

class AgentProcessTest : public KernelTest {
 protected:
  void SetUp() override {
    KernelTest::SetUp();
    if (IsSkipped()) return;
    netns_ = MakeNetns("agent");
    FW_ASSERT_OK(lab::RunIpBatch(netns_, {"link set lo up"}));
    pin_root_ = absl::StrCat("/sys/fs/bpf/fwt-agent-", getpid());
    std::filesystem::remove_all(pin_root_);
    char dir_template[] = "/tmp/fwt-agent-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    manifests_ = dir_ + "/manifests";
    std::filesystem::create_directory(manifests_);
    std::ofstream(manifests_ + "/cluster.yaml") << kCluster;
    port_ = FreePort();
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    KernelTest::TearDown();  // the namespace, with every filter in it
    std::error_code ignored;
    std::filesystem::remove_all(pin_root_, ignored);
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  // A port nothing listens on in the test's namespace (it is the agent's alone).
  uint16_t FreePort() {
    uint16_t port = 0;
    FW_EXPECT_OK(lab::RunInNetns(netns_, [&] {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t length = sizeof(address);
      if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
          getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
        port = ntohs(address.sin_port);
      }
      close(fd);
      return absl::OkStatus();
    }));
    return port;
  }

  // The flags of an agent for this test's node, directory, pin root and port.
  std::vector<std::string> Flags() const {
    return {"--node-name",  "node-1",  "--source", absl::StrCat("dir:", manifests_),
            "--bpffs-root", pin_root_, "--listen", absl::StrCat("127.0.0.1:", port_),
            "--verdict-log", "off"};
  }

  // Starts the agent in the namespace with `args` and exactly `env` (plus PATH), its
  // output to a new log file; the pid, or -1.
  pid_t Spawn(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    log_ = absl::StrCat(dir_, "/agent-", ++runs_, ".log");
    std::vector<std::string> argv_text = {FLATWALL_AGENT_BINARY};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<std::string> env_text = env;
    env_text.push_back("PATH=/usr/sbin:/usr/bin:/sbin:/bin");
    std::vector<char*> argv, envp;
    for (std::string& arg : argv_text) argv.push_back(arg.data());
    for (std::string& variable : env_text) envp.push_back(variable.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    const int netns_fd = open(lab::NetnsPath(netns_).c_str(), O_RDONLY | O_CLOEXEC);
    const int log_fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    EXPECT_GE(netns_fd, 0);
    EXPECT_GE(log_fd, 0);
    pid_t pid = -1;
    if (netns_fd >= 0 && log_fd >= 0 && null_fd >= 0) {
      pid = fork();
      if (pid == 0) {
        // Only async-signal-safe calls until exec. The agent dies with the test.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (setns(netns_fd, CLONE_NEWNET) != 0) _exit(126);
        dup2(null_fd, STDIN_FILENO);
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
        execve(argv[0], argv.data(), envp.data());
        _exit(127);
      }
      EXPECT_GT(pid, 0) << std::strerror(errno);
      if (pid > 0) children_.push_back(pid);
    }
    for (int fd : {netns_fd, log_fd, null_fd}) {
      if (fd >= 0) close(fd);
    }
    return pid;
  }

  // Waits for `pid` to exit; its exit code (-1 if it is still running after `timeout`).
  int WaitForExit(pid_t pid, std::chrono::milliseconds timeout = kExitTimeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        std::erase(children_, pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(kPollInterval);
    }
    return -1;
  }

  // Runs the agent to completion.
  Exit RunToExit(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    Exit exit;
    pid_t pid = Spawn(args, env);
    if (pid <= 0) return exit;
    exit.code = WaitForExit(pid);
    exit.output = Log();
    return exit;
  }

  // Starts the agent and waits until /readyz says 200; the pid, or -1 with a failure.
  pid_t StartReady(const std::vector<std::string>& args,
                   const std::vector<std::string>& env = {}) {
    pid_t pid = Spawn(args, env);
    if (pid <= 0) return -1;
    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Get("/readyz").status == 200) return pid;
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        std::erase(children_, pid);
        ADD_FAILURE() << "the agent exited (status " << status << "); its log:\n" << Log();
        return -1;
      }
      std::this_thread::sleep_for(kPollInterval);
    }
    ADD_FAILURE() << "the agent was not ready within " << kReadyTimeout.count()
                  << "s; its log:\n" << Log();
    return -1;
  }

  // SIGTERM; the exit code.
  int Terminate(pid_t pid) {
    EXPECT_EQ(kill(pid, SIGTERM), 0);
    return WaitForExit(pid);
  }

  lab::HttpReply Get(const std::string& path) const {
    absl::StatusOr<lab::HttpReply> reply = lab::HttpGetInNetns(netns_, port_, path);
    return reply.ok() ? *reply : lab::HttpReply{};
  }

  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // The keys of the pinned fw_endpoints_v2 (nullopt when it is not pinned).
  std::optional<std::vector<compiler::IpAddress>> PinnedEndpoints() const {
    const std::string pin = absl::StrCat(pin_root_, "/", FW_PIN_ENDPOINTS);
    int fd = bpf_obj_get(pin.c_str());
    if (fd < 0) return std::nullopt;
    std::vector<compiler::IpAddress> addresses;
    fw_endpoint_key key{};
    fw_endpoint_key next{};
    const void* previous = nullptr;
    while (bpf_map_get_next_key(fd, previous, &next) == 0) {
      addresses.push_back(compiler::FromAbi(next.addr));
      key = next;
      previous = &key;
    }
    close(fd);
    std::sort(addresses.begin(), addresses.end());
    return addresses;
  }

  // Waits until fw_endpoints_v2 holds exactly `want`.
  bool WaitForEndpoints(const std::vector<compiler::IpAddress>& want) const {
    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (PinnedEndpoints() == want) return true;
      std::this_thread::sleep_for(kPollInterval);
    }
    return false;
  }

  std::string netns_;
  std::string pin_root_;
  std::string dir_;
  std::string manifests_;
  std::string log_;
  uint16_t port_ = 0;

 private:
  std::vector<pid_t> children_;
  int runs_ = 0;
};

}  // namespace flatwall::agent::testing

#endif  // FLATWALL_TESTS_AGENT_AGENT_PROCESS_FIXTURE_H_
