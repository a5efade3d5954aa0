#include "agent/host_routes.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "agent/netlink_dump.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

// One route of the main table, as far as this file cares.
struct Route {
  compiler::IpAddress destination;
  int length = 0;  // in the family's own bits
  int oif = 0;
  uint32_t metric = 0;
};

// An address attribute of `family` as the 16-byte, IPv4-mapped form; none when the
// attribute's size does not fit the family.
std::optional<compiler::IpAddress> AddressOf(int family, const rtattr& attribute) {
  const size_t size = RTA_PAYLOAD(&attribute);
  std::array<uint8_t, 16> bytes{};
  if (family == AF_INET && size == 4) {
    bytes[10] = bytes[11] = 0xff;
    std::memcpy(&bytes[12], RTA_DATA(&attribute), 4);
  } else if (family == AF_INET6 && size == 16) {
    std::memcpy(bytes.data(), RTA_DATA(&attribute), 16);
  } else {
    return std::nullopt;
  }
  return compiler::IpAddress(bytes);
}

uint32_t U32Of(const rtattr& attribute) {
  uint32_t value = 0;
  if (RTA_PAYLOAD(&attribute) >= sizeof(value)) std::memcpy(&value, RTA_DATA(&attribute), 4);
  return value;
}

const char* FamilyName(int family) { return family == AF_INET ? "IPv4" : "IPv6"; }

// The unicast main-table routes of `family` that leave by one interface. A default route
// has no RTA_DST: only its length (0) is meaningful.
absl::StatusOr<std::vector<Route>> MainTableRoutes(int family) {
  rtmsg request{};
  request.rtm_family = static_cast<uint8_t>(family);
  std::vector<Route> routes;
  FW_RETURN_IF_ERROR(NetlinkDump(
      RTM_GETROUTE, &request, sizeof(request),
      absl::StrCat("dump ", FamilyName(family), " routes"),
      [&](const nlmsghdr& message) -> absl::Status {
        if (message.nlmsg_type != RTM_NEWROUTE ||
            message.nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) {
          return absl::OkStatus();
        }
        const auto* header = static_cast<const rtmsg*>(NLMSG_DATA(&message));
        // Cloned entries are the IPv6 route cache (PMTU exceptions), not configuration.
        if (header->rtm_family != family || header->rtm_type != RTN_UNICAST ||
            (header->rtm_flags & RTM_F_CLONED) != 0) {
          return absl::OkStatus();
        }
        uint32_t table = header->rtm_table;
        Route route;
        route.length = header->rtm_dst_len;
        bool has_destination = false;
        int length = static_cast<int>(RTM_PAYLOAD(&message));
        for (const rtattr* attribute = RTM_RTA(header); RTA_OK(attribute, length);
             attribute = RTA_NEXT(attribute, length)) {
          switch (attribute->rta_type) {
            case RTA_TABLE: table = U32Of(*attribute); break;  // tables past 255
            case RTA_OIF: route.oif = static_cast<int>(U32Of(*attribute)); break;
            case RTA_PRIORITY: route.metric = U32Of(*attribute); break;
            case RTA_DST:
              if (auto destination = AddressOf(family, *attribute)) {
                route.destination = *destination;
                has_destination = true;
              }
              break;
            default: break;
          }
        }
        if (table != RT_TABLE_MAIN || route.oif <= 0) return absl::OkStatus();
        if (route.length != 0 && !has_destination) return absl::OkStatus();
        routes.push_back(route);
        return absl::OkStatus();
      }));
  return routes;
}

bool IsIpv6LinkLocal(const compiler::IpAddress& address) {
  return address.bytes()[0] == 0xfe && (address.bytes()[1] & 0xc0) == 0x80;
}

}  // namespace

absl::StatusOr<HostRoutes> HostRouteInterfaces() {
  HostRoutes interfaces;
  std::map<compiler::IpAddress, uint32_t> metrics;
  for (const int family : {AF_INET, AF_INET6}) {
    FW_ASSIGN_OR_RETURN(std::vector<Route> routes, MainTableRoutes(family));
    const int full_length = family == AF_INET ? 32 : 128;
    for (const Route& route : routes) {
      if (route.length != full_length) continue;
      auto [it, inserted] = metrics.emplace(route.destination, route.metric);
      if (inserted || route.metric < it->second) {
        it->second = route.metric;
        interfaces[route.destination] = route.oif;
      }
    }
  }
  return interfaces;
}

absl::StatusOr<std::vector<compiler::IpAddress>> NodeAddresses() {
  ifaddrmsg request{};
  request.ifa_family = AF_UNSPEC;
  std::vector<compiler::IpAddress> addresses;
  FW_RETURN_IF_ERROR(NetlinkDump(
      RTM_GETADDR, &request, sizeof(request), "dump interface addresses",
      [&](const nlmsghdr& message) -> absl::Status {
        if (message.nlmsg_type != RTM_NEWADDR ||
            message.nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) {
          return absl::OkStatus();
        }
        const auto* header = static_cast<const ifaddrmsg*>(NLMSG_DATA(&message));
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on a
        // point-to-point link, and the same as IFA_LOCAL (or alone, for IPv6) elsewhere.
        std::optional<compiler::IpAddress> local, address;
        int length = static_cast<int>(IFA_PAYLOAD(&message));
        for (const rtattr* attribute = IFA_RTA(header); RTA_OK(attribute, length);
             attribute = RTA_NEXT(attribute, length)) {
          if (attribute->rta_type == IFA_LOCAL) local = AddressOf(header->ifa_family, *attribute);
          if (attribute->rta_type == IFA_ADDRESS) {
            address = AddressOf(header->ifa_family, *attribute);
          }
        }
        std::optional<compiler::IpAddress> own = local ? local : address;
        if (own && !IsIpv6LinkLocal(*own)) addresses.push_back(*own);
        return absl::OkStatus();
      }));
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  return addresses;
}

absl::StatusOr<int> DefaultRouteInterface() {
  FW_ASSIGN_OR_RETURN(std::vector<Route> routes, MainTableRoutes(AF_INET));
  std::optional<Route> best;
  for (const Route& route : routes) {
    if (route.length == 0 && (!best || route.metric < best->metric)) best = route;
  }
  if (!best) return absl::NotFoundError("no IPv4 default route with one output interface");
  return best->oif;
}

}  // namespace flatwall::agent
