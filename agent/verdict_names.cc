#include "agent/verdict_names.h"

namespace flatwall::agent {

std::string_view ReasonName(int reason) {
  switch (reason) {
    case FW_REASON_NONE: return "NONE";
    case FW_REASON_NO_ENDPOINT: return "NO_ENDPOINT";
    case FW_REASON_NOT_ISOLATED: return "NOT_ISOLATED";
    case FW_REASON_HOST: return "HOST";
    case FW_REASON_RULE: return "RULE";
    case FW_REASON_ESTABLISHED: return "ESTABLISHED";
    case FW_REASON_RELATED: return "RELATED";
    case FW_REASON_NEIGHBOR_DISCOVERY: return "NEIGHBOR_DISCOVERY";
    case FW_REASON_NOT_IP: return "NOT_IP";
    case FW_REASON_SERVICE_DEFERRED: return "SERVICE_DEFERRED";
    case FW_REASON_DEFAULT_DENY: return "DEFAULT_DENY";
    case FW_REASON_REVOKED: return "REVOKED";
    case FW_REASON_MALFORMED: return "MALFORMED";
    case FW_REASON_MALFORMED_L4: return "MALFORMED_L4";
    case FW_REASON_FRAGMENT: return "FRAGMENT";
    case FW_REASON_EXT_HEADERS: return "EXT_HEADERS";
    case FW_REASON_SPOOFED: return "SPOOFED";
  }
  return "UNKNOWN";
}

std::string_view VerdictName(int verdict) {
  switch (verdict) {
    case FW_VERDICT_ALLOW: return "ALLOW";
    case FW_VERDICT_DENY: return "DENY";
  }
  return "UNKNOWN";
}

const char* DirectionName(int direction) {
  switch (direction) {
    case FW_DIR_INGRESS: return "ingress";
    case FW_DIR_EGRESS: return "egress";
  }
  return "unknown";
}

std::string_view HookName(int hook) {
  switch (hook) {
    case FW_HOOK_FROM_POD: return "from-pod";
    case FW_HOOK_TO_POD: return "to-pod";
    case FW_HOOK_UPLINK: return "uplink";
  }
  return "UNKNOWN";
}

}  // namespace flatwall::agent
