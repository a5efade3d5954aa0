#include <unistd.h>

#include <climits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/cli/command_line.h"
#include "agent/cli/commands.h"
#include "agent/cli/reachability_output.h"
#include "agent/lab/lab.h"
#include "agent/lab/pod_server.h"

namespace flatwall::cli {
namespace {

constexpr char kLabUsage[] =
    "usage: flatwall lab up [--name NAME] [--nodes N] [--agent PATH|--no-agents] FILE...\n"
    "       flatwall lab apply [--name NAME] [--delete] FILE...\n"
    "       flatwall lab probe [--name NAME] [--port N] [--protocol TCP|UDP] [--via-service]\n"
    "                          [--timeout-ms T] [-o text|json]\n"
    "       flatwall lab down [--name NAME]\n";

int Usage(const std::string& problem, std::ostream& err) {
  err << "flatwall lab: " << problem << "\n" << kLabUsage;
  return 2;
}

int Failed(const std::string& verb, const absl::Status& status, std::ostream& err) {
  err << "flatwall lab " << verb << ": " << status.message() << "\n";
  return 1;
}

// The running binary: it serves the lab's pods too (`flatwall lab serve`).
std::string SelfPath() {
  char path[PATH_MAX];
  ssize_t size = readlink("/proc/self/exe", path, sizeof(path) - 1);
  return size > 0 ? std::string(path, static_cast<size_t>(size)) : "flatwall";
}

std::string Address(const std::optional<compiler::IpAddress>& ip) {
  return ip ? ip->ToString() : "-";
}

void PrintPlan(const lab::TopologyPlan& plan, std::ostream& out) {
  for (const lab::NodePlan& node : plan.nodes) {
    out << "  node " << node.name << "  " << node.underlay_ipv4.ToString() << "  netns "
        << node.netns << "\n";
  }
  for (const lab::PodPlan& pod : plan.pods) {
    out << "  pod " << pod.key << "  " << pod.node << "  " << Address(pod.ipv4)
        << (pod.ipv6 ? "  " + pod.ipv6->ToString() : "") << "  netns " << pod.netns << "  veth "
        << pod.host_veth << "\n";
  }
  for (const lab::ServicePlan& service : plan.services) {
    out << "  service " << service.key() << "  " << service.cluster_ip.ToString() << " -> "
        << (service.backend_pods.empty() ? "(no pods)" : absl::StrJoin(service.backend_pods, ", "))
        << (service.generated ? "  (added by the lab)" : "") << "\n";
  }
  for (const std::string& note : plan.notes) out << "note: " << note << "\n";
}

int RunUp(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> line =
      CommandLine::Parse(args, {.with_value = {"name", "nodes", "agent"}, .flags = {"no-agents"}});
  if (!line.ok()) return Usage(std::string(line.status().message()), err);
  if (line->positional().empty()) return Usage("lab up: no FILE given", err);
  lab::UpOptions options;
  options.name = line->ValueOr("name", lab::kDefaultLabName);
  if (!absl::SimpleAtoi(line->ValueOr("nodes", "2"), &options.nodes)) {
    return Usage("--nodes must be a number", err);
  }
  options.agents = !line->Flag("no-agents");
  if (!options.agents && line->Value("agent")) {
    return Usage("--agent and --no-agents exclude each other", err);
  }
  options.agent_binary = line->ValueOr("agent", "");
  options.flatwall_binary = SelfPath();
  options.files = line->positional();
  absl::StatusOr<lab::TopologyPlan> plan = lab::LabUp(options);
  if (!plan.ok()) return Failed("up", plan.status(), err);
  out << "lab \"" << options.name << "\" is up: " << plan->nodes.size() << " node(s), "
      << plan->pods.size() << " pod(s), agents "
      << (options.agents ? "running" : "not started (--no-agents)") << "\n";
  PrintPlan(*plan, out);
  return 0;
}

int RunApply(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> line =
      CommandLine::Parse(args, {.with_value = {"name"}, .flags = {"delete"}});
  if (!line.ok()) return Usage(std::string(line.status().message()), err);
  if (line->positional().empty()) return Usage("lab apply: no FILE given", err);
  lab::ApplyOptions options;
  options.name = line->ValueOr("name", lab::kDefaultLabName);
  (line->Flag("delete") ? options.delete_files : options.files) = line->positional();
  absl::StatusOr<lab::ApplyReport> report = lab::LabApply(options);
  if (!report.ok()) return Failed("apply", report.status(), err);
  auto list = [](const std::vector<std::string>& pods) {
    return pods.empty() ? std::string("none") : absl::StrJoin(pods, ", ");
  };
  out << "lab \"" << options.name << "\" changed: pods added " << list(report->pods_added)
      << "; removed " << list(report->pods_removed) << "; servers restarted "
      << list(report->pods_restarted) << "\n";
  PrintPlan(report->plan, out);
  return 0;
}

int RunProbe(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> line = CommandLine::Parse(
      args,
      {.with_value = {"name", "port", "protocol", "timeout-ms", "o"}, .flags = {"via-service"}});
  if (!line.ok()) return Usage(std::string(line.status().message()), err);
  if (!line->positional().empty()) return Usage("lab probe takes no FILE", err);
  lab::ProbeOptions options;
  absl::StatusOr<uint16_t> port = ParsePortOption("port", line->ValueOr("port", "80"));
  if (!port.ok()) return Usage(std::string(port.status().message()), err);
  options.port = *port;
  std::optional<compiler::Protocol> protocol =
      compiler::ParseProtocolName(line->ValueOr("protocol", "TCP"));
  if (!protocol || *protocol == compiler::Protocol::kSctp) {
    return Usage("--protocol must be TCP or UDP (this kernel has no SCTP)", err);
  }
  options.protocol = *protocol;
  int timeout_ms = 0;
  if (!absl::SimpleAtoi(line->ValueOr("timeout-ms", "1000"), &timeout_ms) || timeout_ms < 1) {
    return Usage("--timeout-ms must be a positive number", err);
  }
  options.timeout = std::chrono::milliseconds(timeout_ms);
  options.via_service = line->Flag("via-service");
  std::string format = line->ValueOr("o", "text");
  if (format != "text" && format != "json") return Usage("-o must be text or json", err);

  std::string name = line->ValueOr("name", lab::kDefaultLabName);
  absl::StatusOr<std::vector<lab::ProbeResult>> probed = lab::LabProbe(name, options);
  if (!probed.ok()) return Failed("probe", probed.status(), err);
  std::vector<compiler::ReachabilityResult> results;
  for (const lab::ProbeResult& probe : *probed) {
    results.push_back(probe.reachability);
    // A refusal or a timeout is an answer about policy; these say the lab could not ask.
    switch (probe.outcome) {
      case lab::ProbeOutcome::kAnswered:
      case lab::ProbeOutcome::kRefused:
      case lab::ProbeOutcome::kTimedOut:
        break;
      default:
        err << "note: " << probe.reachability.from << " -> " << probe.reachability.to
            << (probe.address.empty() ? "" : " (" + probe.address + ")") << ": "
            << lab::ProbeOutcomeName(probe.outcome)
            << (probe.detail.empty() ? "" : ": " + probe.detail) << "\n";
    }
  }
  if (format == "json") {
    out << ReachabilityToJson(results).dump(2) << "\n";
  } else {
    PrintReachabilityGrid(results, out);
  }
  return 0;
}

int RunDown(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<CommandLine> line = CommandLine::Parse(args, {.with_value = {"name"}});
  if (!line.ok()) return Usage(std::string(line.status().message()), err);
  if (!line->positional().empty()) return Usage("lab down takes no FILE", err);
  std::string name = line->ValueOr("name", lab::kDefaultLabName);
  absl::StatusOr<lab::TeardownReport> report = lab::LabDown(name);
  if (!report.ok()) return Failed("down", report.status(), err);
  if (report->nothing_found()) {
    out << "lab \"" << name << "\": nothing to remove\n";
  } else {
    out << "lab \"" << name << "\" removed: " << report->processes_stopped
        << " process(es) stopped, " << report->namespaces_deleted.size()
        << " namespace(s) deleted, " << report->pin_roots_removed.size()
        << " bpffs root(s) removed\n";
  }
  return 0;
}

// Hidden: the server each lab pod runs. Returns only when it cannot start.
int RunServe(const std::vector<std::string>& args, std::ostream& err) {
  absl::StatusOr<lab::PodServerConfig> config = lab::ParseServeArguments(args);
  if (!config.ok()) return Usage(std::string(config.status().message()), err);
  absl::Status served = lab::ServePod(*config);
  return Failed("serve", served, err);
}

}  // namespace

int RunLab(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) return Usage("no lab command given", err);
  std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string& command = args[0];
  if (command == "up") return RunUp(rest, out, err);
  if (command == "apply") return RunApply(rest, out, err);
  if (command == "probe") return RunProbe(rest, out, err);
  if (command == "down") return RunDown(rest, out, err);
  if (command == "serve") return RunServe(rest, err);
  return Usage(absl::StrCat("unknown lab command \"", command, "\""), err);
}

}  // namespace flatwall::cli
