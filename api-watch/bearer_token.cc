#include "api-watch/bearer_token.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace flatwall::apiwatch {
namespace {

absl::Status FileError(const std::string& path, int error) {
  std::string message = absl::StrCat("bearer token file ", path, ": ", std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
  return absl::UnavailableError(message);
}

}  // namespace

bool BearerToken::FileVersion::operator==(const FileVersion& other) const {
  return device == other.device && inode == other.inode &&
         modified.tv_sec == other.modified.tv_sec && modified.tv_nsec == other.modified.tv_nsec &&
         size == other.size;
}

BearerToken BearerToken::Fixed(std::string token) {
  BearerToken result;
  result.token_ = std::move(token);
  return result;
}

absl::StatusOr<BearerToken> BearerToken::FromFile(std::string path) {
  BearerToken result;
  result.path_ = std::move(path);
  absl::Status loaded = result.Reload();
  if (!loaded.ok()) return loaded;
  return result;
}

BearerToken::BearerToken(BearerToken&& other) { *this = std::move(other); }

BearerToken& BearerToken::operator=(BearerToken&& other) {
  if (this == &other) return *this;
  std::scoped_lock lock(mutex_, other.mutex_);
  path_ = std::move(other.path_);
  token_ = std::move(other.token_);
  version_ = other.version_;
  return *this;
}

std::string BearerToken::Current() {
  std::lock_guard<std::mutex> lock(mutex_);
  // A failed reload keeps the last token (see the header).
  if (!path_.empty()) Reload().IgnoreError();
  return token_;
}

absl::Status BearerToken::Reload() {
  struct stat before;
  if (stat(path_.c_str(), &before) != 0) return FileError(path_, errno);
  FileVersion version{before.st_dev, before.st_ino, before.st_mtim, before.st_size};
  if (!token_.empty() && version == version_) return absl::OkStatus();
  std::ifstream file(path_);
  if (!file) return FileError(path_, errno);
  std::stringstream contents;
  contents << file.rdbuf();
  std::string token(absl::StripAsciiWhitespace(contents.str()));
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bearer token file ", path_, " is empty"));
  }
  token_ = std::move(token);
  version_ = version;
  return absl::OkStatus();
}

}  // namespace flatwall::apiwatch
