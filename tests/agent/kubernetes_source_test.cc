// KubernetesSource against the fake Kubernetes API (tests/api-watch/testing) over the real
// HTTP transport: the first state only once everything listed, changes as events, health
// while the server fails and after it recovers, and a prompt stop with watches open.
#include "agent/daemon/kubernetes_source.h"

#include <poll.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api-watch/http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/api-watch/testing/fake_kube_api.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent {
namespace {

using ::flatwall::apiwatch::testing::FakeKubeApi;
using ::flatwall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr absl::Duration kTimeout = absl::Seconds(20);

constexpr char kCluster[] = R"(apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {team: a}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {nodeName: node-1, containers: [{name: c, image: i}]}
status: {podIP: 10.60.0.1}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec: {podSelector: {}}
)";

bool WaitFor(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + kTimeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

bool Readable(int fd, absl::Duration timeout = kTimeout) {
  pollfd entry = {fd, POLLIN, 0};
  return poll(&entry, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout))) == 1;
}

class KubernetesSourceTest : public ::testing::Test {
 protected:
  void SetUp() override { FW_ASSERT_OK(fake_.UpsertManifests(kCluster)); }

  // A source over a fresh transport to the fake, with quick retries.
  std::unique_ptr<KubernetesSource> StartSource(int page_size = 500) {
    absl::StatusOr<std::unique_ptr<apiwatch::HttpTransport>> transport =
        apiwatch::HttpTransport::Create({.server = fake_.url()});
    EXPECT_TRUE(transport.ok()) << transport.status();
    if (!transport.ok()) return nullptr;
    KubernetesSourceOptions options;
    options.watcher.backoff.initial = absl::Milliseconds(200);
    options.watcher.backoff.max = absl::Milliseconds(400);
    options.watcher.page_size = page_size;
    absl::StatusOr<std::unique_ptr<KubernetesSource>> source = KubernetesSource::Start(
        std::shared_ptr<apiwatch::ApiTransport>(std::move(*transport)), "fake", options);
    EXPECT_TRUE(source.ok()) << source.status();
    return source.ok() ? std::move(*source) : nullptr;
  }

  // The events of the first complete state.
  std::vector<compiler::ClusterEvent> FirstState(KubernetesSource& source) {
    EXPECT_TRUE(WaitFor([&] { return source.complete(); }));
    absl::StatusOr<std::vector<compiler::ClusterEvent>> events = SyncEvents(source);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<compiler::ClusterEvent>{};
  }

  // Syncs as the agent's loop does until an event arrives; the events.
  std::vector<compiler::ClusterEvent> NextEvents(KubernetesSource& source) {
    const absl::Time deadline = absl::Now() + kTimeout;
    while (absl::Now() < deadline) {
      if (!Readable(source.fd(), deadline - absl::Now())) break;
      absl::StatusOr<std::vector<compiler::ClusterEvent>> events = SyncEvents(source);
      EXPECT_TRUE(events.ok()) << events.status();
      if (events.ok() && !events->empty()) return *events;
    }
    ADD_FAILURE() << "no events";
    return {};
  }

  FakeKubeApi fake_;
};

TEST_F(KubernetesSourceTest, FirstStateWaitsUntilEveryResourceListed) {
  // networkpolicies fails its first lists; the others list at once.
  fake_.FailNext("/apis/networking.k8s.io/v1/networkpolicies", 503, "", 3);
  std::unique_ptr<KubernetesSource> source = StartSource();
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(WaitFor([&] { return !source->Health().ok(); }));
  EXPECT_FALSE(source->complete());
  EXPECT_THAT(SyncEvents(*source),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("networkpolicies")));
  EXPECT_THAT(source->Health(), StatusIs(absl::StatusCode::kUnavailable,
                                         HasSubstr("list networkpolicies: UNAVAILABLE")));

  std::vector<compiler::ClusterEvent> events = FirstState(*source);
  // The namespace, the pod and the policy: nothing was consumed by the early Sync.
  EXPECT_THAT(events, SizeIs(3));
  for (const compiler::ClusterEvent& event : events) {
    EXPECT_EQ(event.kind, compiler::ClusterEvent::kUpsert);
  }
  EXPECT_TRUE(WaitFor([&] { return source->Health().ok(); }));
  EXPECT_THAT(source->Problems(), IsEmpty());
}

// The first state arrives as the lists' pages, never gathered into one array: with one
// object per page, one batch per object.
TEST_F(KubernetesSourceTest, FirstStateKeepsTheListsPagesAsBatches) {
  FW_ASSERT_OK(fake_.UpsertManifests(R"(apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x}
spec: {nodeName: node-1, containers: [{name: c, image: i}]}
status: {podIP: 10.60.0.2}
)"));
  std::unique_ptr<KubernetesSource> source = StartSource(/*page_size=*/1);
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(WaitFor([&] { return source->complete(); }));
  absl::StatusOr<EventBatches> batches = source->Sync();
  FW_ASSERT_OK(batches);
  ASSERT_THAT(*batches, SizeIs(4));
  std::vector<std::string> pods;
  for (const std::vector<compiler::ClusterEvent>& batch : *batches) {
    ASSERT_THAT(batch, SizeIs(1));
    if (const auto* pod = std::get_if<compiler::Pod>(&batch[0].object)) pods.push_back(pod->name);
  }
  EXPECT_THAT(pods, ElementsAre("a", "b"));  // a resource's pages stay in list order
}

TEST_F(KubernetesSourceTest, ServerChangesBecomeEvents) {
  std::unique_ptr<KubernetesSource> source = StartSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(FirstState(*source), SizeIs(3));

  FW_ASSERT_OK(fake_.UpsertManifests(R"(apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {nodeName: node-2, containers: [{name: c, image: i}]}
status: {podIP: 10.61.0.1}
)"));
  std::vector<compiler::ClusterEvent> added = NextEvents(*source);
  ASSERT_THAT(added, SizeIs(1));
  EXPECT_EQ(added[0].kind, compiler::ClusterEvent::kUpsert);
  EXPECT_EQ(compiler::ObjectKey(added[0].object), "x/b");

  FW_ASSERT_OK(fake_.Delete("Pod", "x", "b"));
  std::vector<compiler::ClusterEvent> deleted = NextEvents(*source);
  ASSERT_THAT(deleted, SizeIs(1));
  EXPECT_EQ(deleted[0].kind, compiler::ClusterEvent::kDelete);

  std::vector<ResourceWatchStats> stats = source->WatchStats();
  ASSERT_THAT(stats, SizeIs(4));
  EXPECT_EQ(stats[1].resource, "pods");
  EXPECT_EQ(stats[1].lists, 1u);
  EXPECT_EQ(stats[1].events, 3u);  // a listed, b added, b deleted
  EXPECT_NE(stats[1].last_success, absl::InfinitePast());
}

TEST_F(KubernetesSourceTest, FailingServerMakesHealthSayWhyUntilItAnswersAgain) {
  std::unique_ptr<KubernetesSource> source = StartSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(FirstState(*source), SizeIs(3));
  ASSERT_TRUE(fake_.WaitForOpenWatches(4, kTimeout));

  fake_.FailNext("/api/v1/pods", 503, "", 3);
  fake_.DropWatches();
  ASSERT_TRUE(WaitFor([&] { return !source->Health().ok(); }));
  absl::Status health = source->Health();
  EXPECT_THAT(health.message(), HasSubstr("watch "));
  EXPECT_THAT(health.message(), HasSubstr("(for "));
  EXPECT_THAT(source->Problems(), Not(IsEmpty()));

  EXPECT_TRUE(WaitFor([&] { return source->Health().ok(); })) << source->Health();
  EXPECT_THAT(source->Problems(), IsEmpty());
  EXPECT_GT(source->failed_reads(), 0u);
  // The watches resumed: nothing was relisted, no event repeated.
  absl::StatusOr<std::vector<compiler::ClusterEvent>> events = SyncEvents(*source);
  FW_ASSERT_OK(events);
  EXPECT_THAT(*events, IsEmpty());
}

TEST_F(KubernetesSourceTest, StopsPromptlyWithWatchesOpen) {
  std::unique_ptr<KubernetesSource> source = StartSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(FirstState(*source), SizeIs(3));
  ASSERT_TRUE(fake_.WaitForOpenWatches(4, kTimeout));
  const absl::Time start = absl::Now();
  source.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // The fake notices a closed watch when a write to it fails (the first write after the
  // close may still be accepted by the kernel): objects of every resource change until
  // every stream is found closed.
  bool closed = false;
  for (int round = 0; round < 50 && !closed; ++round) {
    FW_ASSERT_OK(fake_.UpsertManifests(absl::StrCat(R"(apiVersion: v1
kind: Namespace
metadata: {name: w, labels: {round: ")", round, R"("}}
---
apiVersion: v1
kind: Pod
metadata: {name: w, namespace: w, labels: {round: ")", round, R"("}}
spec: {nodeName: node-1, containers: [{name: c, image: i}]}
---
apiVersion: v1
kind: Service
metadata: {name: w, namespace: w, labels: {round: ")", round, R"("}}
spec: {clusterIP: 10.96.0.50, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: w, namespace: w, labels: {round: ")", round, R"("}}
spec: {podSelector: {}}
)")));
    absl::SleepFor(absl::Milliseconds(50));
    closed = fake_.open_watches() == 0;
  }
  EXPECT_TRUE(closed) << fake_.open_watches() << " watches still open";
}

}  // namespace
}  // namespace flatwall::agent
