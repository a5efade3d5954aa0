// What the calling thread's network namespace says about routes and addresses, read over
// rtnetlink: the host-side interface of each pod (its /32 or /128 route), the node's own
// addresses, and the uplink (the IPv4 default route's interface).
//
// Not here: which pods are local or which programs are attached (veth_attachments.h), the
// netlink socket itself (netlink_dump.h).
#ifndef FLATWALL_AGENT_HOST_ROUTES_H_
#define FLATWALL_AGENT_HOST_ROUTES_H_

#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "policy-compiler/ip_prefix.h"

namespace flatwall::agent {

// A full-length destination (IPv4 /32 or IPv6 /128) -> the ifindex its route leaves by.
using HostRoutes = std::map<compiler::IpAddress, int>;

// Every route of the main table that is unicast, has a full-length destination and a
// single output interface (multipath routes are left out), from one RTM_GETROUTE dump per
// family. This is how a pod's host-side veth is found: the AWS VPC CNI (and the lab) add
// `ip route add POD/32 dev VETH`. Local, broadcast and other tables' routes, cached IPv6
// clones and shorter prefixes are not reported. When one destination has several routes
// (IPv6 metrics) the lowest metric wins. Errors: from netlink (Internal, PermissionDenied,
// DataLoss).
absl::StatusOr<HostRoutes> HostRouteInterfaces();

// Every address configured on any interface, both families, sorted and without
// duplicates — what the datapath treats as FW_IDENTITY_HOST. IPv6 link-local addresses
// (fe80::/10) are left out: every veth's host side has one, none is a source kubelet
// probes come from, and one link's link-local address means nothing on another. Loopback
// addresses are kept (they are the node's, and harmless: no pod can be reached from them).
// Errors: from netlink.
absl::StatusOr<std::vector<compiler::IpAddress>> NodeAddresses();

// The output interface of the main table's IPv4 default route (the lowest metric when
// there are several): the node's uplink, where FW_HOOK_UPLINK is attached. NotFound when
// there is none (or only a multipath one); other errors from netlink.
absl::StatusOr<int> DefaultRouteInterface();

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_HOST_ROUTES_H_
