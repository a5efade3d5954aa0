#include "agent/daemon/agent_config.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/cli/command_line.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

// One row per setting: the flag, its environment variable, its default as shown in
// --help, what it means, and whether it is a boolean (the flag alone means true). Parsing
// and the usage text both come from this table.
struct Setting {
  const char* flag;
  const char* variable;
  const char* default_text;
  const char* meaning;
  bool boolean = false;
};

constexpr Setting kSettings[] = {
    {"node-name", "NODE_NAME", "(required)", "this node's name: its pods are enforced here"},
    {"source", "FLATWALL_SOURCE", "(kubernetes in a cluster, else required)",
     "dir:PATH (manifests under PATH, watched) or kubernetes (the API server)"},
    {"kubeconfig", "KUBECONFIG", "(in-cluster service account, else ~/.kube/config)",
     "--source kubernetes: the kubeconfig file (of a KUBECONFIG list, the first)"},
    {"context", "FLATWALL_KUBE_CONTEXT", "(the kubeconfig's current-context)",
     "--source kubernetes: the kubeconfig context to use"},
    {"bpffs-root", "FLATWALL_BPFFS_ROOT", "/sys/fs/bpf/flatwall", "where maps and programs are pinned"},
    {"verdict-log", "FLATWALL_VERDICT_LOG", "-", "verdict log: a file, - for stdout, off for none"},
    {"verdict-log-max-bytes", "FLATWALL_VERDICT_LOG_MAX_BYTES", "104857600",
     "rotate the verdict log file at this size"},
    {"verdict-log-max-files", "FLATWALL_VERDICT_LOG_MAX_FILES", "5", "rotated files kept"},
    {"verdict-log-aggregate", "FLATWALL_VERDICT_LOG_AGGREGATE", "5s",
     "repeats of a flow within this interval become one verdict-log record; 0 logs each"},
    {"listen", "FLATWALL_LISTEN", "0.0.0.0:9464", "host:port of /metrics, /healthz, /readyz"},
    {"log-level", "FLATWALL_LOG_LEVEL", "info", "error, warn, info or debug"},
    {"uplink", "FLATWALL_UPLINK", "(the default route's interface)",
     "the node's uplink interface (Service traffic to other nodes is judged on it)"},
    {"conntrack-accounting", "FLATWALL_CONNTRACK_ACCOUNTING", "false",
     "count packets and bytes per flow in conntrack (~200 ns per packet); the flag alone: true",
     true},
};

// The value of a setting: the flag if given, else its variable if set and non-empty.
std::optional<std::string> Lookup(const cli::CommandLine& line, const Setting& setting,
                                  const std::function<const char*(const char*)>& getenv) {
  if (std::optional<std::string> value = line.Value(setting.flag)) return value;
  if (setting.boolean && line.Flag(setting.flag)) return "true";
  const char* from_env = getenv(setting.variable);
  if (from_env != nullptr && *from_env != '\0') return std::string(from_env);
  return std::nullopt;
}

absl::Status Invalid(const Setting& setting, const std::string& value, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("--", setting.flag, " (", setting.variable,
                                                 ") \"", value, "\": ", why));
}

absl::StatusOr<SourceConfig> ParseSource(const Setting& setting, const std::string& value) {
  if (value == "kubernetes") return SourceConfig{.kind = SourceConfig::kKubernetes};
  if (absl::StartsWith(value, "dir:") && value.size() > 4) {
    return SourceConfig{.kind = SourceConfig::kDirectory, .directory = value.substr(4)};
  }
  return Invalid(setting, value, "expected dir:PATH or kubernetes");
}

absl::Status ParseListen(const Setting& setting, const std::string& value) {
  size_t colon = value.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(value.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return Invalid(setting, value, "expected HOST:PORT, e.g. 0.0.0.0:9464");
  }
  return absl::OkStatus();
}

template <typename Number>
absl::StatusOr<Number> ParsePositive(const Setting& setting, const std::string& value) {
  Number number = 0;
  if (!absl::SimpleAtoi(value, &number) || number <= 0) {
    return Invalid(setting, value, "expected a positive number");
  }
  return number;
}

absl::Status Assign(AgentConfig& config, const Setting& setting, const std::string& value) {
  std::string flag = setting.flag;
  if (flag == "node-name") {
    config.node_name = value;
  } else if (flag == "source") {
    FW_ASSIGN_OR_RETURN(config.source, ParseSource(setting, value));
  } else if (flag == "kubeconfig") {
    // KUBECONFIG may list several files; kubectl merges them, the agent takes the first.
    config.source.kubeconfig = value.substr(0, value.find(':'));
    if (config.source.kubeconfig.empty()) return Invalid(setting, value, "expected a file");
  } else if (flag == "context") {
    config.source.context = value;
  } else if (flag == "bpffs-root") {
    config.bpffs_root = value;
  } else if (flag == "verdict-log") {
    config.verdict_log = value;
  } else if (flag == "verdict-log-max-bytes") {
    FW_ASSIGN_OR_RETURN(config.verdict_log_max_bytes, ParsePositive<uint64_t>(setting, value));
  } else if (flag == "verdict-log-max-files") {
    FW_ASSIGN_OR_RETURN(config.verdict_log_max_files, ParsePositive<int>(setting, value));
  } else if (flag == "verdict-log-aggregate") {
    if (!absl::ParseDuration(value, &config.verdict_log_aggregate) ||
        config.verdict_log_aggregate < absl::ZeroDuration()) {
      return Invalid(setting, value, "expected a duration such as 5s, or 0 for none");
    }
  } else if (flag == "listen") {
    FW_RETURN_IF_ERROR(ParseListen(setting, value));
    config.listen = value;
  } else if (flag == "log-level") {
    std::optional<LogLevel> level = ParseLogLevel(value);
    if (!level) return Invalid(setting, value, "expected error, warn, info or debug");
    config.log_level = *level;
  } else if (flag == "uplink") {
    config.uplink = value;
  } else if (flag == "conntrack-accounting") {
    if (!absl::SimpleAtob(value, &config.conntrack_accounting)) {
      return Invalid(setting, value, "expected true or false");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AgentConfig> ParseAgentConfig(
    const std::vector<std::string>& args,
    const std::function<const char*(const char*)>& getenv) {
  cli::OptionSpec spec;
  for (const Setting& setting : kSettings) {
    // A boolean is also a valued option, for --flag=false.
    spec.with_value.insert(setting.flag);
    if (setting.boolean) spec.flags.insert(setting.flag);
  }
  spec.flags.insert("uninstall");
  FW_ASSIGN_OR_RETURN(cli::CommandLine line, cli::CommandLine::Parse(args, spec));
  if (!line.positional().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", line.positional()[0], "\" (see --help)"));
  }
  AgentConfig config;
  config.uninstall = line.Flag("uninstall");
  bool has_source = false;
  // The source first: the kubeconfig settings are kept in it.
  for (const Setting& setting : kSettings) {
    if (std::string(setting.flag) != "source") continue;
    if (std::optional<std::string> value = Lookup(line, setting, getenv)) {
      has_source = true;
      FW_RETURN_IF_ERROR(Assign(config, setting, *value));
    }
  }
  // Inside a cluster the API server is the source unless another one is asked for.
  const char* service_host = getenv("KUBERNETES_SERVICE_HOST");
  if (!has_source && service_host != nullptr && *service_host != '\0') {
    has_source = true;
    config.source.kind = SourceConfig::kKubernetes;
  }
  for (const Setting& setting : kSettings) {
    std::string flag = setting.flag;
    if (flag == "source") continue;
    std::optional<std::string> value = Lookup(line, setting, getenv);
    if (!value) continue;
    // KUBECONFIG in the environment is for kubectl too; only the flags are errors with
    // another source.
    if ((flag == "kubeconfig" || flag == "context") && config.source.kind != SourceConfig::kKubernetes) {
      if (!line.Value(setting.flag)) continue;
      return Invalid(setting, *value, "only with --source kubernetes");
    }
    FW_RETURN_IF_ERROR(Assign(config, setting, *value));
  }
  if (config.uninstall) return config;
  if (config.node_name.empty()) {
    return absl::InvalidArgumentError(
        "the node name is missing: --node-name or NODE_NAME (from the downward API: "
        "spec.nodeName)");
  }
  if (!has_source) {
    return absl::InvalidArgumentError(
        "the source is missing: --source dir:PATH or kubernetes (FLATWALL_SOURCE)");
  }
  return config;
}

std::string AgentUsage() {
  std::string usage =
      "usage: flatwall-agent [FLAG VALUE]... | --uninstall [--bpffs-root PATH]\n"
      "\n"
      "Enforces Kubernetes NetworkPolicy on this node's pod veths with eBPF.\n"
      "Each flag may instead be set by the environment variable shown.\n\n";
  for (const Setting& setting : kSettings) {
    absl::StrAppend(&usage, "  --", setting.flag, " (", setting.variable, ", default ",
                    setting.default_text, ")\n      ", setting.meaning, "\n");
  }
  absl::StrAppend(&usage,
                  "  --uninstall\n      detach every program, remove every pin under the "
                  "bpffs root, and exit\n");
  return usage;
}

}  // namespace flatwall::agent
