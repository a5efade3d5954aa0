#include "agent/bpf_error.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace flatwall::agent {

absl::Status BpfError(int error, const std::string& what) {
  const int error_number = std::abs(error);
  // The kernel reports a full hash map as E2BIG, which absl would call OutOfRange.
  if (error_number == E2BIG || error_number == ENOSPC) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": ", std::strerror(error_number)));
  }
  return absl::ErrnoToStatus(error_number, what);
}

}  // namespace flatwall::agent
