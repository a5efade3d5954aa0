#include "agent/lab/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "agent/lab/run_command.h"

namespace flatwall::lab {

std::string NetnsPath(const std::string& name) { return absl::StrCat(kNetnsDir, "/", name); }

bool NetnsExists(const std::string& name) {
  struct stat info;
  return stat(NetnsPath(name).c_str(), &info) == 0;
}

std::vector<std::string> ListNetns(const std::string& prefix) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, error)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<ino_t> NetnsInode(const std::string& name) {
  struct stat info;
  if (stat(NetnsPath(name).c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat("network namespace ", name, ": ", strerror(errno)));
  }
  return info.st_ino;
}

absl::Status CreateNetns(const std::string& name) {
  return RunCommand({"ip", "netns", "add", name}).status();
}

absl::Status DeleteNetns(const std::string& name) {
  if (!NetnsExists(name)) return absl::OkStatus();
  absl::Status deleted = RunCommand({"ip", "netns", "del", name}).status();
  // Another teardown may have won the race; that is the outcome we wanted.
  return NetnsExists(name) ? deleted : absl::OkStatus();
}

absl::Status RunInNetns(const std::string& name, const std::function<absl::Status()>& work) {
  int fd = open(NetnsPath(name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat("network namespace ", name, ": ", strerror(errno)));
  }
  absl::Status status;
  std::thread worker([&] {
    if (setns(fd, CLONE_NEWNET) != 0) {
      status = absl::InternalError(absl::StrCat("setns into ", name, ": ", strerror(errno)));
      return;
    }
    status = work();
  });
  worker.join();
  close(fd);
  return status;
}

absl::Status WriteSysctls(const std::string& name,
                          const std::vector<std::pair<std::string, std::string>>& sysctls) {
  return RunInNetns(name, [&]() -> absl::Status {
    for (const auto& [key, value] : sysctls) {
      // /proc/sys/net resolves to the namespace of the thread that opens the file.
      std::string path = absl::StrCat("/proc/sys/", absl::StrReplaceAll(key, {{".", "/"}}));
      std::ofstream file(path);
      file << value << "\n";
      file.close();
      if (!file) {
        return absl::InternalError(
            absl::StrCat("sysctl ", key, "=", value, " in ", name, ": cannot write ", path));
      }
    }
    return absl::OkStatus();
  });
}

std::vector<std::string> InNetns(const std::string& name, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"nsenter", absl::StrCat("--net=", NetnsPath(name)), "--"});
  return argv;
}

absl::Status RunIpBatch(const std::string& name, const std::vector<std::string>& lines) {
  if (lines.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> output =
      RunCommand(InNetns(name, {"ip", "-batch", "-"}), absl::StrCat(absl::StrJoin(lines, "\n"), "\n"));
  if (output.ok()) return absl::OkStatus();
  return absl::Status(output.status().code(),
                      absl::StrCat("in ", name, ": ", output.status().message(), "\ncommands:\n",
                                   absl::StrJoin(lines, "\n")));
}

}  // namespace flatwall::lab
