// Turning libbpf and kernel error numbers into absl::Status: the single place where a
// -errno becomes a Status that says what was being done to which object.
//
// Not here: errors of other libraries (each adapter converts its own).
#ifndef FLATWALL_AGENT_BPF_ERROR_H_
#define FLATWALL_AGENT_BPF_ERROR_H_

#include <string>

#include "absl/status/status.h"

namespace flatwall::agent {

// `error` is an errno value, negative (libbpf style) or positive. `what` names the verb,
// the object and which one, e.g. "attach tc ingress to ifindex 7"; the result reads
// "attach tc ingress to ifindex 7: No such device". Codes follow absl::ErrnoToStatus
// (ENOENT/ENODEV: NotFound, EPERM/EACCES: PermissionDenied, EEXIST: AlreadyExists, ...),
// except that E2BIG and ENOSPC (a full map) are ResourceExhausted.
absl::Status BpfError(int error, const std::string& what);

}  // namespace flatwall::agent

#endif  // FLATWALL_AGENT_BPF_ERROR_H_
