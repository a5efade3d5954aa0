// Named network namespaces (the /run/netns/<name> files `ip netns` manages): creating,
// deleting and listing them, and doing work inside one — ip commands, sysctls, sockets.
//
// Code runs inside a namespace on a short-lived thread that setns(2)s itself there: a
// socket belongs to the namespace it was created in, so the caller can use it afterwards
// from any thread, and the caller's own namespace never changes, even on an error path.
//
// Not here: processes that live on in a namespace (daemon_spawner.h, processes.h).
#ifndef FLATWALL_AGENT_LAB_NETNS_H_
#define FLATWALL_AGENT_LAB_NETNS_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flatwall::lab {

inline constexpr char kNetnsDir[] = "/run/netns";

// "/run/netns/<name>".
std::string NetnsPath(const std::string& name);
bool NetnsExists(const std::string& name);
// The names in /run/netns that start with `prefix`, sorted.
std::vector<std::string> ListNetns(const std::string& prefix);
// The inode that identifies the namespace (what /proc/<pid>/ns/net of its members points
// at); NotFound when there is no such namespace.
absl::StatusOr<ino_t> NetnsInode(const std::string& name);

// `ip netns add`. Internal (from RunCommand) when it fails, e.g. because it exists.
absl::Status CreateNetns(const std::string& name);
// `ip netns del`; OK when it does not exist.
absl::Status DeleteNetns(const std::string& name);

// Runs `work` on a thread inside namespace `name` and returns its status. NotFound when
// the namespace does not exist; Internal when setns fails.
absl::Status RunInNetns(const std::string& name, const std::function<absl::Status()>& work);

// Writes each (key, value) sysctl, e.g. ("net.ipv4.ip_forward", "1"), inside namespace
// `name`. Internal names the key that could not be written.
absl::Status WriteSysctls(const std::string& name,
                          const std::vector<std::pair<std::string, std::string>>& sysctls);

// Runs `ip -n <name> -batch -` with one command per line (no leading "ip"); nothing when
// `lines` is empty. Internal with ip's message (it names the failing line) on failure.
absl::Status RunIpBatch(const std::string& name, const std::vector<std::string>& lines);

// `argv` wrapped to run inside namespace `name` with nsenter, which joins only the network
// namespace: `ip -n` and `ip netns exec` also remount /sys in a private mount namespace,
// which fails where / is not a mount point (a chroot) and is not needed here.
std::vector<std::string> InNetns(const std::string& name, std::vector<std::string> argv);

}  // namespace flatwall::lab

#endif  // FLATWALL_AGENT_LAB_NETNS_H_
