#include "agent/cli/traffic_options.h"

namespace flatwall::cli {

absl::StatusOr<TrafficOptions> ParseTrafficOptions(const CommandLine& line,
                                                   std::optional<std::string> default_port) {
  std::optional<std::string> port_text = line.Value("port");
  if (!port_text) port_text = default_port;
  if (!port_text) return absl::InvalidArgumentError("--port is required");
  TrafficOptions options;
  absl::StatusOr<uint16_t> port = ParsePortOption("port", *port_text);
  if (!port.ok()) return port.status();
  options.port = *port;
  std::optional<compiler::Protocol> protocol =
      compiler::ParseProtocolName(line.ValueOr("protocol", "TCP"));
  if (!protocol) return absl::InvalidArgumentError("--protocol must be TCP, UDP or SCTP");
  options.protocol = *protocol;
  options.format = line.ValueOr("o", "text");
  if (options.format != "text" && options.format != "json") {
    return absl::InvalidArgumentError("-o must be text or json");
  }
  absl::StatusOr<DatapathChoice> datapath =
      ParseDatapathOption(line.ValueOr("datapath", "model"));
  if (!datapath.ok()) return datapath.status();
  options.datapath = *datapath;
  return options;
}

}  // namespace flatwall::cli
