#include "agent/lab/run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace flatwall::lab {
namespace {

constexpr auto kCommandTimeout = std::chrono::seconds(60);

// Closes the descriptors it holds when it goes out of scope, on every error path.
class Pipe {
 public:
  Pipe() {
    if (pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~Pipe() {
    CloseRead();
    CloseWrite();
  }
  bool ok() const { return fds_[0] >= 0; }
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  void CloseRead() { Close(fds_[0]); }
  void CloseWrite() { Close(fds_[1]); }

 private:
  static void Close(int& fd) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  int fds_[2];
};

// Writing to a child that quit early raises SIGPIPE, whose default action would kill the
// caller. Blocked for this thread while it talks to the child, and any pending one is
// discarded afterwards, so the process-wide disposition stays untouched.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_);
  }
  ~ScopedSigpipeBlock() {
    timespec zero = {0, 0};
    while (sigtimedwait(&sigpipe_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }

 private:
  sigset_t sigpipe_;
  sigset_t previous_;
};

std::string CommandText(const std::vector<std::string>& argv) { return absl::StrJoin(argv, " "); }

// Feeds stdin and drains stdout and stderr together: a child blocked writing a full
// stderr pipe while we wait on stdout would otherwise never finish.
absl::Status Exchange(pid_t pid, Pipe& in, Pipe& out, Pipe& err, const std::string& input,
                      std::string& out_text, std::string& err_text) {
  auto deadline = std::chrono::steady_clock::now() + kCommandTimeout;
  size_t written = 0;
  if (input.empty()) in.CloseWrite();
  fcntl(in.write_end(), F_SETFL, O_NONBLOCK);
  char buffer[4096];
  while (out.read_end() >= 0 || err.read_end() >= 0) {
    pollfd fds[3] = {
        {in.write_end(), POLLOUT, 0}, {out.read_end(), POLLIN, 0}, {err.read_end(), POLLIN, 0}};
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) {
      kill(pid, SIGKILL);
      return absl::DeadlineExceededError("did not finish within 60 seconds");
    }
    if (poll(fds, 3, static_cast<int>(remaining.count())) < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    }
    if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
      ssize_t n = write(in.write_end(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // child quit
      if (written == input.size()) in.CloseWrite();
    }
    for (auto [index, text] : {std::pair{1, &out_text}, std::pair{2, &err_text}}) {
      if (!(fds[index].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[index].fd, buffer, sizeof(buffer));
      if (n > 0) {
        text->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        (index == 1 ? out : err).CloseRead();
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> FindProgram(const std::string& program) {
  if (program.empty()) return absl::NotFoundError("no program named");
  if (program.find('/') != std::string::npos) {
    if (access(program.c_str(), X_OK) == 0) return program;
    return absl::NotFoundError(absl::StrCat(program, ": no such executable"));
  }
  const char* path = getenv("PATH");
  std::vector<std::string> dirs = absl::StrSplit(path ? path : "", ':', absl::SkipEmpty());
  for (const char* extra : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) dirs.push_back(extra);
  for (const std::string& dir : dirs) {
    std::string candidate = absl::StrCat(dir, "/", program);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(program, ": command not found"));
}

absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       const std::string& input) {
  if (argv.empty()) return absl::InvalidArgumentError("RunCommand: empty argv");
  absl::StatusOr<std::string> program = FindProgram(argv[0]);
  if (!program.ok()) return program.status();

  Pipe in, out, err;
  if (!in.ok() || !out.ok() || !err.ok()) {
    return absl::InternalError(absl::StrCat("pipe: ", strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read_end(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write_end(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write_end(), STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int spawn_error = posix_spawn(&pid, program->c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) {
    return absl::InternalError(
        absl::StrCat("start `", CommandText(argv), "`: ", strerror(spawn_error)));
  }
  in.CloseRead();
  out.CloseWrite();
  err.CloseWrite();

  std::string out_text, err_text;
  ScopedSigpipeBlock no_sigpipe;
  absl::Status exchanged = Exchange(pid, in, out, err, input, out_text, err_text);
  int wait_status = 0;
  while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (!exchanged.ok()) {
    return absl::Status(exchanged.code(),
                        absl::StrCat("`", CommandText(argv), "`: ", exchanged.message()));
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return out_text;
  std::string how = WIFEXITED(wait_status) ? absl::StrCat("exit code ", WEXITSTATUS(wait_status))
                                           : absl::StrCat("signal ", WTERMSIG(wait_status));
  return absl::InternalError(absl::StrCat("`", CommandText(argv), "` failed (", how,
                                          "): ", absl::StripTrailingAsciiWhitespace(err_text)));
}

}  // namespace flatwall::lab
