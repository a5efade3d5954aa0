// `flatwall-agent`: the node agent (one per node, as a DaemonSet). See agent_daemon.h.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "agent/daemon/agent_config.h"
#include "agent/daemon/agent_daemon.h"
#include "agent/daemon/agent_log.h"

int main(int argc, char** argv) {
  using namespace flatwall::agent;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << AgentUsage();
      return 0;
    }
  }
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(args, [](const char* name) {
    return static_cast<const char*>(std::getenv(name));
  });
  if (!config.ok()) {
    std::cerr << "flatwall-agent: " << config.status().message() << "\n\n" << AgentUsage();
    return 2;
  }
  SetLogLevel(config->log_level);
  absl::Status status = config->uninstall ? UninstallAgent(*config) : RunAgent(*config);
  if (!status.ok()) {
    LogError(std::string(status.message()));
    return 1;
  }
  return 0;
}
