// A gtest fixture for the agent's kernel-facing parts: skips without root, and removes
// everything a test made even when it fails — the network namespaces it created
// (fwt-<tag>-<pid>, with their interfaces, routes and tc filters) and the datapath it
// loaded under /sys/fs/bpf/fwt-<pid>.
//
// Not here: the datapath tests' fixture (tests/datapath/datapath_fixture.h), which loads
// once per suite and runs packets.
#ifndef FLATWALL_TESTS_AGENT_KERNEL_TEST_FIXTURE_H_
#define FLATWALL_TESTS_AGENT_KERNEL_TEST_FIXTURE_H_

#include <net/if.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/datapath.h"
#include "agent/lab/netns.h"
#include "gtest/gtest.h"
#include "policy-compiler/ip_prefix.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent::testing {

class KernelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "needs root (CAP_NET_ADMIN, CAP_BPF) for namespaces, tc and BPF; "
                      "CI runs as root";
    }
    constexpr long kBpffsMagic = 0xcafe4a11;
    struct statfs fs {};
    if (statfs("/sys/fs/bpf", &fs) != 0 || static_cast<long>(fs.f_type) != kBpffsMagic) {
      mkdir("/sys/fs/bpf", 0755);
      ASSERT_EQ(mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr), 0)
          << "mount bpffs at /sys/fs/bpf: " << std::strerror(errno);
    }
  }

  void TearDown() override {
    for (const std::string& name : namespaces_) FW_EXPECT_OK(lab::DeleteNetns(name));
    if (datapath_ != nullptr) {
      FW_EXPECT_OK(datapath_->Uninstall());
      datapath_.reset();
    }
  }

  // Loads the datapath under this process's pin root.
  void LoadDatapath() {
    DatapathOptions options;
    options.pin_root = absl::StrCat("/sys/fs/bpf/fwt-", getpid());
    absl::StatusOr<std::unique_ptr<Datapath>> loaded = Datapath::Load(options);
    FW_ASSERT_OK(loaded);
    datapath_ = std::move(*loaded);
  }

  // Creates namespace fwt-<tag>-<pid>, deleted in TearDown; returns its name.
  std::string MakeNetns(const std::string& tag) {
    const std::string name = absl::StrCat("fwt-", tag, "-", getpid());
    EXPECT_TRUE(lab::DeleteNetns(name).ok());  // a leftover of a crashed run
    namespaces_.push_back(name);
    EXPECT_TRUE(lab::CreateNetns(name).ok()) << name;
    return name;
  }

  // The ifindex of interface `device` in namespace `netns`; 0 (and a failure) if none.
  static int Ifindex(const std::string& netns, const std::string& device) {
    int ifindex = 0;
    EXPECT_TRUE(lab::RunInNetns(netns, [&] {
                  ifindex = static_cast<int>(if_nametoindex(device.c_str()));
                  return absl::OkStatus();
                }).ok());
    EXPECT_NE(ifindex, 0) << device << " in " << netns;
    return ifindex;
  }

  static compiler::IpAddress Ip(const std::string& text) {
    absl::StatusOr<compiler::IpAddress> address = compiler::IpAddress::Parse(text);
    EXPECT_TRUE(address.ok()) << text;
    return address.ok() ? *address : compiler::IpAddress();
  }

  std::unique_ptr<Datapath> datapath_;

 private:
  std::vector<std::string> namespaces_;
};

}  // namespace flatwall::agent::testing

#endif  // FLATWALL_TESTS_AGENT_KERNEL_TEST_FIXTURE_H_
