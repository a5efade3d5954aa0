// The Datapath owner: pins under the configured root, adoption of existing pins by a
// restarted agent, default configuration, uninstall, and refusal of a root off bpffs.
#include "agent/datapath.h"

#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "agent/bpf_error.h"
#include "agent/veth_binding.h"
#include "gtest/gtest.h"
#include "tests/datapath/datapath_fixture.h"
#include "tests/datapath/scenario.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::HasSubstr;

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

class DatapathLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override { RequireRootAndBpffs(); }
  void TearDown() override {
    // Whatever a failing test left behind.
    if (!IsSkipped() && Exists(root_)) {
      DatapathOptions options{root_};
      if (auto datapath = Datapath::Load(options); datapath.ok()) (void)(*datapath)->Uninstall();
    }
  }
  std::unique_ptr<Datapath> Load() {
    absl::StatusOr<std::unique_ptr<Datapath>> datapath = Datapath::Load({root_});
    EXPECT_THAT(datapath, ::flatwall::testing::IsOk());
    return datapath.ok() ? std::move(*datapath) : nullptr;
  }

  const std::string root_ = TestPinRoot();
};

TEST_F(DatapathLifecycleTest, LoadPinsEveryMapAndProgramUnderTheRoot) {
  std::unique_ptr<Datapath> datapath = Load();
  ASSERT_NE(datapath, nullptr);
  for (const DatapathMap map : kAllDatapathMaps) {
    SCOPED_TRACE(MapPinName(map));
    EXPECT_TRUE(Exists(absl::StrCat(root_, "/", MapPinName(map))));
    EXPECT_GE(datapath->map_fd(map), 0);
  }
  for (const fw_hook hook : kAllHooks) {
    SCOPED_TRACE(ProgramPinName(hook));
    EXPECT_TRUE(Exists(absl::StrCat(root_, "/", ProgramPinName(hook))));
    EXPECT_GE(datapath->program_fd(hook), 0);
  }
  FW_EXPECT_OK(datapath->Uninstall());
}

TEST_F(DatapathLifecycleTest, FreshDatapathHasTheDefaultConfiguration) {
  std::unique_ptr<Datapath> datapath = Load();
  ASSERT_NE(datapath, nullptr);
  absl::StatusOr<fw_config> config = datapath->ReadConfig();
  FW_ASSERT_OK(config);
  EXPECT_EQ(config->generation, 1u);
  EXPECT_EQ(config->flags, 0u);
  EXPECT_EQ(config->service_mark, FW_DEFAULT_SERVICE_MARK);
  EXPECT_EQ(config->event_interval_ns, FW_DEFAULT_EVENT_INTERVAL_NS);
  EXPECT_EQ(config->event_burst, FW_DEFAULT_EVENT_BURST);
  FW_EXPECT_OK(datapath->Uninstall());
}

TEST_F(DatapathLifecycleTest, RestartedAgentAdoptsPinnedMapsWithTheirContents) {
  std::unique_ptr<Datapath> first = Load();
  ASSERT_NE(first, nullptr);
  MapWriter writer(*first);
  FW_ASSERT_OK(writer.Apply(UpsertAll(scenario::StandardTables())));  // generation 2
  PacketRunner(*first).Run(FW_HOOK_TO_POD, PacketBuilder(Ip(scenario::kClient),
                                                         Ip(scenario::kServer))
                                               .Tcp(40000, 80)
                                               .Build())
      .IgnoreError();
  // The server's veth binding must survive the restart too, or its reply is SPOOFED.
  FW_ASSERT_OK(BindVeth(*first, kTestRunIfindex, {Ip(scenario::kServer)}));
  first.reset();  // the agent exits; pins stay

  std::unique_ptr<Datapath> second = Load();
  ASSERT_NE(second, nullptr);
  absl::StatusOr<fw_config> config = second->ReadConfig();
  FW_ASSERT_OK(config);
  EXPECT_EQ(config->generation, 2u);
  // The tracked flow survived: its reply still passes though the policy would drop it.
  absl::StatusOr<RunResult> reply = PacketRunner(*second).Run(
      FW_HOOK_FROM_POD,
      PacketBuilder(Ip(scenario::kServer), Ip(scenario::kClient)).Tcp(80, 40000, 0x12).Build());
  FW_ASSERT_OK(reply);
  EXPECT_EQ(reply->reason, FW_REASON_ESTABLISHED);
  FW_EXPECT_OK(second->Uninstall());
}

TEST_F(DatapathLifecycleTest, UninstallRemovesEveryPinAndTheRoot) {
  std::unique_ptr<Datapath> datapath = Load();
  ASSERT_NE(datapath, nullptr);
  FW_ASSERT_OK(datapath->Uninstall());
  EXPECT_FALSE(Exists(root_));
  FW_EXPECT_OK(datapath->Uninstall());  // nothing left to remove is fine
}

TEST_F(DatapathLifecycleTest, PinRootOffBpffsIsRefused) {
  EXPECT_THAT(Datapath::Load({"/tmp/flatwall-not-bpffs"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("bpffs")));
}

TEST(BpfErrorTest, SaysWhatFailedAndPicksTheCode) {
  EXPECT_THAT(BpfError(-ENODEV, "attach tc ingress to ifindex 7"),
              StatusIs(absl::StatusCode::kNotFound,
                       "attach tc ingress to ifindex 7: No such device"));
  EXPECT_THAT(BpfError(E2BIG, "write map fw_endpoints_v2"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("fw_endpoints_v2")));
  EXPECT_THAT(BpfError(-EPERM, "load"), StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("load")));
}

}  // namespace
}  // namespace flatwall::agent::testing
