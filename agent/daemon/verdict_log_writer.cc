#include "agent/daemon/verdict_log_writer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "policy-compiler/status_macros.h"

namespace flatwall::agent {
namespace {

absl::Status ErrnoStatus(int error, const std::string& what) {
  return absl::ErrnoToStatus(error, what);
}

bool IsStdout(const VerdictLogOptions& options) { return options.path == "-"; }

absl::StatusOr<std::FILE*> OpenForAppend(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) return ErrnoStatus(errno, absl::StrCat("open verdict log ", path));
  return file;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VerdictLogWriter>> VerdictLogWriter::Open(
    const VerdictLogOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("verdict log path is empty");
  if (options.max_files < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("verdict log max_files is negative: ", options.max_files));
  }
  if (IsStdout(options)) {
    return std::unique_ptr<VerdictLogWriter>(new VerdictLogWriter(options, stdout, 0));
  }
  FW_ASSIGN_OR_RETURN(std::FILE * file, OpenForAppend(options.path));
  struct stat info {};
  if (fstat(fileno(file), &info) != 0) {
    const int error = errno;
    std::fclose(file);
    return ErrnoStatus(error, absl::StrCat("stat verdict log ", options.path));
  }
  return std::unique_ptr<VerdictLogWriter>(
      new VerdictLogWriter(options, file, static_cast<uint64_t>(info.st_size)));
}

VerdictLogWriter::VerdictLogWriter(VerdictLogOptions options, std::FILE* file, uint64_t size)
    : options_(std::move(options)), file_(file), current_bytes_(size) {}

VerdictLogWriter::~VerdictLogWriter() {
  if (file_ == nullptr) return;
  if (file_ == stdout) {
    std::fflush(file_);
  } else {
    std::fclose(file_);
  }
}

absl::Status VerdictLogWriter::Write(const std::vector<std::string>& lines) {
  // A failed rotation leaves file_ null; the next batch retries opening.
  if (file_ == nullptr) {
    FW_ASSIGN_OR_RETURN(file_, OpenForAppend(options_.path));
    current_bytes_ = 0;
  }
  const bool rotates = !IsStdout(options_) && options_.max_bytes > 0;
  for (const std::string& line : lines) {
    const uint64_t size = line.size() + 1;
    if (rotates && current_bytes_ > 0 && current_bytes_ + size > options_.max_bytes) {
      FW_RETURN_IF_ERROR(Rotate());
    }
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
        std::fputc('\n', file_) == EOF) {
      return ErrnoStatus(errno, absl::StrCat("write verdict log ", options_.path));
    }
    current_bytes_ += size;
  }
  if (std::fflush(file_) != 0) {
    return ErrnoStatus(errno, absl::StrCat("flush verdict log ", options_.path));
  }
  return absl::OkStatus();
}

absl::Status VerdictLogWriter::Rotate() {
  // Close first so every byte of the old file is on disk before it is renamed.
  const bool closed = std::fclose(file_) == 0;
  const int close_error = errno;
  file_ = nullptr;
  if (!closed) return ErrnoStatus(close_error, absl::StrCat("close verdict log ", options_.path));
  if (options_.max_files > 0) {
    FW_RETURN_IF_ERROR(ShiftRotatedFiles());
  } else if (std::remove(options_.path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("remove verdict log ", options_.path));
  }
  FW_ASSIGN_OR_RETURN(file_, OpenForAppend(options_.path));
  current_bytes_ = 0;
  return absl::OkStatus();
}

absl::Status VerdictLogWriter::ShiftRotatedFiles() {
  // rename() replaces its target, so the oldest (path.max_files) is overwritten by the
  // next older one and needs no separate delete.
  for (int i = options_.max_files - 1; i >= 0; --i) {
    const std::string from = i == 0 ? options_.path : absl::StrCat(options_.path, ".", i);
    const std::string to = absl::StrCat(options_.path, ".", i + 1);
    if (std::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, absl::StrCat("rename verdict log ", from, " to ", to));
    }
  }
  return absl::OkStatus();
}

}  // namespace flatwall::agent
