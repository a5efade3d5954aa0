#include "agent/lab/processes.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace flatwall::lab {
namespace {

constexpr auto kWaitLimit = std::chrono::seconds(5);

// The state letter of a process's first thread, from /proc/<pid>/stat ('?' when gone).
char FirstThreadState(pid_t pid) {
  std::ifstream stat_file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat_file, line)) return '?';
  size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
}

template <typename Condition>
bool WaitFor(Condition condition) {
  auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A child whose first thread has exited while a second one lives on, holding a TCP
// listener on loopback (as the agent's HTTP server thread does when the main thread is
// the first to go). The second thread exits when the pipe's write end closes.
class HalfExitedChild {
 public:
  HalfExitedChild() {
    int to_child[2];
    int from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(to_child[1]);
      close(from_child[0]);
      RunChild(to_child[0], from_child[1]);
    }
    close(to_child[0]);
    close(from_child[1]);
    release_ = to_child[1];
    if (read(from_child[0], &port_, sizeof(port_)) != sizeof(port_)) port_ = 0;
    close(from_child[0]);
  }
  ~HalfExitedChild() {
    Release();
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  void Release() {
    if (release_ >= 0) close(release_);
    release_ = -1;
  }

 private:
  struct ChildFds {
    int release;
    int report;
  };

  [[noreturn]] static void RunChild(int release, int report) {
    static ChildFds fds;
    fds = {release, report};
    pthread_t thread;
    pthread_create(&thread, nullptr, &HoldListener, &fds);
    // The raw exit ends this thread only; pthread_exit would unwind into gtest's handlers.
    for (;;) syscall(SYS_exit, 0);
  }

  static void* HoldListener(void* arg) {
    const ChildFds& fds = *static_cast<ChildFds*>(arg);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    uint16_t port = 0;
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        listen(listener, 1) == 0 &&
        getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port = ntohs(address.sin_port);
    }
    if (write(fds.report, &port, sizeof(port)) != sizeof(port)) _exit(1);
    char byte;
    while (read(fds.release, &byte, 1) > 0) {
    }
    _exit(0);
  }

  pid_t pid_ = -1;
  int release_ = -1;
  uint16_t port_ = 0;
};

bool CanListenOn(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  bool listening =
      bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 && listen(fd, 1) == 0;
  close(fd);
  return listening;
}

TEST(ProcessesTest, ProcessIsAliveWhileAnyThreadIsEvenAfterItsFirstThreadExited) {
  HalfExitedChild child;
  ASSERT_GT(child.pid(), 0);
  ASSERT_NE(child.port(), 0) << "the child's thread did not listen";
  ASSERT_TRUE(WaitFor([&] { return FirstThreadState(child.pid()) == 'Z'; }))
      << "the child's first thread did not exit";

  EXPECT_TRUE(ProcessAlive(child.pid())) << "a thread still runs and holds a listener";
  EXPECT_FALSE(CanListenOn(child.port()));

  child.Release();
  EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(child.pid()); }));
  EXPECT_EQ(FirstThreadState(child.pid()), 'Z') << "exited, not yet reaped by this test";
}

TEST(ProcessesTest, KillReturnsOnlyWhenEveryThreadIsGoneAndItsSocketsWithIt) {
  HalfExitedChild child;
  ASSERT_GT(child.pid(), 0);
  ASSERT_NE(child.port(), 0);
  ASSERT_TRUE(WaitFor([&] { return FirstThreadState(child.pid()) == 'Z'; }));

  ASSERT_TRUE(KillProcesses({child.pid()}).ok());
  EXPECT_FALSE(ProcessAlive(child.pid()));
  // What a restarted agent does at once: listen on the port its predecessor held.
  EXPECT_TRUE(CanListenOn(child.port()));
}

}  // namespace
}  // namespace flatwall::lab
