// Attaching programs with tc inside a private network namespace (one thread's), so the
// test touches no interface of the machine and leaves nothing behind when it ends.
#include "agent/tc_attacher.h"

#include <bpf/bpf.h>
#include <sched.h>

#include <functional>
#include <thread>

#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using ::flatwall::testing::StatusIs;

constexpr int kLoopback = 1;  // ifindex of lo in a fresh namespace

uint32_t ProgramId(int fd) {
  bpf_prog_info info{};
  uint32_t length = sizeof(info);
  EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &length), 0);
  return info.id;
}

// Runs `body` on a thread that has its own, new network namespace.
void InFreshNetworkNamespace(const std::function<void()>& body) {
  std::thread thread([&] {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    body();
  });
  thread.join();
}

class TcAttacherTest : public DatapathTest {};

TEST_F(TcAttacherTest, AttachReplaceAndDetachOnBothHooks) {
  const int from_pod = datapath_->program_fd(FW_HOOK_FROM_POD);
  const int to_pod = datapath_->program_fd(FW_HOOK_TO_POD);
  InFreshNetworkNamespace([&] {
    FW_ASSERT_OK(AttachTc(kLoopback, TcHook::kIngress, from_pod));
    FW_ASSERT_OK(AttachTc(kLoopback, TcHook::kEgress, to_pod));
    EXPECT_EQ(*AttachedTcProgramId(kLoopback, TcHook::kIngress), ProgramId(from_pod));
    EXPECT_EQ(*AttachedTcProgramId(kLoopback, TcHook::kEgress), ProgramId(to_pod));

    // Re-attaching replaces in place (an upgrade).
    FW_ASSERT_OK(AttachTc(kLoopback, TcHook::kIngress, to_pod));
    EXPECT_EQ(*AttachedTcProgramId(kLoopback, TcHook::kIngress), ProgramId(to_pod));

    FW_ASSERT_OK(DetachTc(kLoopback, TcHook::kIngress));
    EXPECT_EQ(*AttachedTcProgramId(kLoopback, TcHook::kIngress), 0u);
    EXPECT_EQ(*AttachedTcProgramId(kLoopback, TcHook::kEgress), ProgramId(to_pod));
    FW_EXPECT_OK(DetachTc(kLoopback, TcHook::kIngress));  // already gone: fine
    FW_ASSERT_OK(DetachTc(kLoopback, TcHook::kEgress));
  });
}

TEST_F(TcAttacherTest, MissingInterfaceIsNotFoundAndNamed) {
  const int from_pod = datapath_->program_fd(FW_HOOK_FROM_POD);
  InFreshNetworkNamespace([&] {
    EXPECT_THAT(AttachTc(4242, TcHook::kIngress, from_pod),
                StatusIs(absl::StatusCode::kNotFound, ::testing::HasSubstr("ifindex 4242")));
    EXPECT_THAT(DetachTc(4242, TcHook::kEgress), StatusIs(absl::StatusCode::kNotFound,
                                                          ::testing::HasSubstr("ifindex 4242")));
  });
}

}  // namespace
}  // namespace flatwall::agent::testing
