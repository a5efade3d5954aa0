#include "agent/lab/daemon_spawner.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "agent/lab/netns.h"
#include "agent/lab/run_command.h"

extern char** environ;

namespace flatwall::lab {
namespace {

// What the grandchild reports through the error pipe when it cannot exec.
struct ChildFailure {
  int step;  // index into kSteps
  int error;
};
constexpr const char* kSteps[] = {"fork", "setns", "exec"};

// Owns file descriptors opened before the fork; closes them on every path in the parent.
class Fds {
 public:
  ~Fds() {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  int Add(int fd) {
    fds_.push_back(fd);
    return fd;
  }
  void Close(int fd) {
    for (int& owned : fds_) {
      if (owned == fd) {
        close(owned);
        owned = -1;
      }
    }
  }

 private:
  std::vector<int> fds_;
};

[[noreturn]] void ReportAndExit(int error_pipe, int step) {
  ChildFailure failure{step, errno};
  ssize_t ignored = write(error_pipe, &failure, sizeof(failure));
  (void)ignored;
  _exit(127);
}

}  // namespace

absl::StatusOr<pid_t> SpawnDaemon(const DaemonSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("SpawnDaemon: empty argv");
  absl::StatusOr<std::string> program = FindProgram(spec.argv[0]);
  if (!program.ok()) return program.status();

  Fds fds;
  int netns_fd = fds.Add(open(NetnsPath(spec.netns).c_str(), O_RDONLY | O_CLOEXEC));
  if (netns_fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("network namespace ", spec.netns, ": ", strerror(errno)));
  }
  int log_fd =
      fds.Add(open(spec.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (log_fd < 0) {
    return absl::InternalError(absl::StrCat("open ", spec.log_file, ": ", strerror(errno)));
  }
  int null_fd = fds.Add(open("/dev/null", O_RDONLY | O_CLOEXEC));
  int pid_pipe[2], error_pipe[2];
  if (null_fd < 0 || pipe2(pid_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("spawn setup: ", strerror(errno)));
  }
  fds.Add(pid_pipe[0]);
  fds.Add(pid_pipe[1]);
  if (pipe2(error_pipe, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("spawn setup: ", strerror(errno)));
  }
  fds.Add(error_pipe[0]);
  fds.Add(error_pipe[1]);

  std::vector<char*> argv;
  for (const std::string& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv[0] = const_cast<char*>(program->c_str());
  argv.push_back(nullptr);

  pid_t child = fork();
  if (child < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (child == 0) {
    setsid();
    pid_t daemon = fork();
    if (daemon < 0) ReportAndExit(error_pipe[1], 0);
    if (daemon > 0) {
      ssize_t ignored = write(pid_pipe[1], &daemon, sizeof(daemon));
      (void)ignored;
      _exit(0);
    }
    if (setns(netns_fd, CLONE_NEWNET) != 0) ReportAndExit(error_pipe[1], 1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (chdir("/") != 0) ReportAndExit(error_pipe[1], 2);
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    // A daemon must not hold the caller's other descriptors (a test's pipes, a socket)
    // open for as long as it lives. Close-on-exec rather than closed: the error pipe must
    // stay open until exec succeeds.
    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    execve(argv[0], argv.data(), environ);
    ReportAndExit(error_pipe[1], 2);
  }

  fds.Close(pid_pipe[1]);
  fds.Close(error_pipe[1]);
  int wait_status = 0;
  while (waitpid(child, &wait_status, 0) < 0 && errno == EINTR) {
  }
  pid_t daemon = -1;
  ssize_t got = read(pid_pipe[0], &daemon, sizeof(daemon));
  // EOF on the error pipe means exec succeeded (the pipe is close-on-exec).
  ChildFailure failure{};
  ssize_t failed;
  while ((failed = read(error_pipe[0], &failure, sizeof(failure))) < 0 && errno == EINTR) {
  }
  std::string what = absl::StrCat("start ", spec.argv[0], " in ", spec.netns);
  if (failed == static_cast<ssize_t>(sizeof(failure))) {
    return absl::InternalError(
        absl::StrCat(what, ": ", kSteps[failure.step], ": ", strerror(failure.error)));
  }
  if (got != static_cast<ssize_t>(sizeof(daemon))) {
    return absl::InternalError(absl::StrCat(what, ": the launcher exited early"));
  }
  return daemon;
}

std::string LogTail(const std::string& log_file, int lines) {
  std::ifstream in(log_file);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string text;
  for (const std::string& kept : tail) absl::StrAppend(&text, kept, "\n");
  return text;
}

}  // namespace flatwall::lab
