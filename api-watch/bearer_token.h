// BearerToken: the bearer token to send with each request — a fixed string, or the
// contents of a file that is re-read whenever it changes, because the kubelet rotates a
// projected service-account token by writing a new file and renaming (or re-pointing a
// symlink) into place.
//
// Not here: where the token comes from (client_config.h), sending it (http_transport.h).
#ifndef FLATWALL_API_WATCH_BEARER_TOKEN_H_
#define FLATWALL_API_WATCH_BEARER_TOKEN_H_

#include <sys/types.h>

#include <ctime>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace flatwall::apiwatch {

// Thread-safe: requests on several threads may ask for the token at once.
class BearerToken {
 public:
  // No token at all: Current() returns "".
  BearerToken() = default;
  static BearerToken Fixed(std::string token);
  // Reads `path` now. NotFound / PermissionDenied naming the file when it cannot be read;
  // InvalidArgument when it holds no token.
  static absl::StatusOr<BearerToken> FromFile(std::string path);

  BearerToken(BearerToken&& other);
  BearerToken& operator=(BearerToken&& other);

  // The token to send now ("" for none). For a file: re-read when the file seen through
  // `path` (symlinks followed) is another file or was modified since the last read. While
  // the file cannot be read (e.g. mid-rotation) the last good token is kept, since the
  // server is the judge of whether it still works.
  std::string Current();

 private:
  struct FileVersion {
    dev_t device = 0;
    ino_t inode = 0;
    timespec modified{};
    off_t size = 0;
    bool operator==(const FileVersion& other) const;
  };
  absl::Status Reload();

  std::mutex mutex_;
  std::string path_;  // empty: a fixed token
  std::string token_;
  FileVersion version_;
};

}  // namespace flatwall::apiwatch

#endif  // FLATWALL_API_WATCH_BEARER_TOKEN_H_
