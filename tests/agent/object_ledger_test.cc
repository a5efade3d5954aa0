// The per-file object bookkeeping behind the directory source: net events, their order,
// which copy of a duplicated object counts, and what counts as a change.
#include "agent/daemon/object_ledger.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace flatwall::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

compiler::ClusterObject Ns(const std::string& name, const std::string& file, int line = 1) {
  return compiler::Namespace{
      name, "uid", {{compiler::kNamespaceNameLabel, name}}, {}, {file, line}};
}

compiler::ClusterObject PodIn(const std::string& name, const std::string& app,
                              const std::string& file, int line = 1) {
  compiler::Pod pod;
  pod.namespace_name = "x";
  pod.name = name;
  pod.labels = {{"app", app}};
  pod.source = {file, line};
  return pod;
}

compiler::ClusterObject Svc(const std::string& name, const std::string& file) {
  compiler::Service service;
  service.namespace_name = "x";
  service.name = name;
  service.source = {file, 1};
  return service;
}

compiler::ClusterObject Policy(const std::string& name, const std::string& file) {
  compiler::NetworkPolicy policy;
  policy.namespace_name = "x";
  policy.name = name;
  policy.source = {file, 1};
  return policy;
}

ObjectLedger::FileObjects Objects(const std::vector<compiler::ClusterObject>& objects) {
  ObjectLedger::FileObjects by_id;
  for (const compiler::ClusterObject& object : objects) by_id.emplace(ObjectId::Of(object), object);
  return by_id;
}

std::vector<std::string> Describe(const std::vector<compiler::ClusterEvent>& events) {
  std::vector<std::string> described;
  for (const compiler::ClusterEvent& event : events) {
    described.push_back(absl::StrCat(event.kind == compiler::ClusterEvent::kUpsert ? "+" : "-",
                                     std::string(compiler::ObjectKind(event.object)), " ",
                                     compiler::ObjectKey(event.object)));
  }
  return described;
}

TEST(ObjectLedgerTest, UpsertsGoByKindThenKeyAndDeletesInReverseKindOrder) {
  ObjectLedger ledger;
  ledger.SetFile("f", Objects({Policy("p", "f"), Svc("s", "f"), PodIn("b", "b", "f"),
                               PodIn("a", "a", "f"), Ns("x", "f")}));
  EXPECT_THAT(Describe(ledger.TakeEvents()), ElementsAre("+Namespace x", "+Pod x/a", "+Pod x/b",
                                                         "+Service x/s", "+NetworkPolicy x/p"));

  ledger.SetFile("f", Objects({PodIn("c", "c", "f")}));
  EXPECT_THAT(Describe(ledger.TakeEvents()),
              ElementsAre("+Pod x/c", "-NetworkPolicy x/p", "-Service x/s", "-Pod x/a", "-Pod x/b",
                          "-Namespace x"));
}

TEST(ObjectLedgerTest, OnlyTheNetChangeSinceTheLastTakeIsReported) {
  ObjectLedger ledger;
  ledger.SetFile("f", Objects({PodIn("a", "a", "f")}));
  ledger.SetFile("f", {});
  EXPECT_THAT(ledger.TakeEvents(), IsEmpty());

  ledger.SetFile("f", Objects({PodIn("a", "a", "f")}));
  ASSERT_THAT(Describe(ledger.TakeEvents()), ElementsAre("+Pod x/a"));
  ledger.SetFile("f", Objects({PodIn("a", "b", "f")}));
  ledger.SetFile("f", Objects({PodIn("a", "a", "f")}));
  EXPECT_THAT(ledger.TakeEvents(), IsEmpty());
}

TEST(ObjectLedgerTest, SourceLineAloneIsNoChangeButSourceFileIs) {
  ObjectLedger ledger;
  ledger.SetFile("f", Objects({PodIn("a", "a", "f", 1)}));
  ASSERT_THAT(ledger.TakeEvents(), ::testing::SizeIs(1));

  ledger.SetFile("f", Objects({PodIn("a", "a", "f", 40)}));
  EXPECT_THAT(ledger.TakeEvents(), IsEmpty());

  ledger.SetFile("g", Objects({PodIn("a", "a", "g", 40)}));
  ledger.SetFile("f", {});
  std::vector<compiler::ClusterEvent> events = ledger.TakeEvents();
  ASSERT_THAT(Describe(events), ElementsAre("+Pod x/a"));
  EXPECT_EQ(std::get<compiler::Pod>(events[0].object).source.file, "g");
}

TEST(ObjectLedgerTest, FirstFileInPathOrderWinsAndOthersAreDuplicates) {
  ObjectLedger ledger;
  ledger.SetFile("dir/c", Objects({PodIn("a", "from-c", "dir/c", 3)}));
  ledger.SetFile("dir/b", Objects({PodIn("a", "from-b", "dir/b", 7)}));
  std::vector<compiler::ClusterEvent> events = ledger.TakeEvents();
  ASSERT_THAT(Describe(events), ElementsAre("+Pod x/a"));
  EXPECT_EQ(std::get<compiler::Pod>(events[0].object).labels.at("app"), "from-b");

  std::vector<IgnoredDuplicate> duplicates = ledger.Duplicates();
  ASSERT_THAT(duplicates, ::testing::SizeIs(1));
  EXPECT_EQ(duplicates[0].object, "Pod x/a");
  EXPECT_EQ(duplicates[0].ignored.file, "dir/c");
  EXPECT_EQ(duplicates[0].ignored.line, 3);
  EXPECT_EQ(duplicates[0].winner_file, "dir/b");

  ledger.SetFile("dir/b", {});
  events = ledger.TakeEvents();
  ASSERT_THAT(Describe(events), ElementsAre("+Pod x/a"));
  EXPECT_EQ(std::get<compiler::Pod>(events[0].object).labels.at("app"), "from-c");
  EXPECT_THAT(ledger.Duplicates(), IsEmpty());
}

TEST(ObjectLedgerTest, SameKeyOfDifferentKindsAreDifferentObjects) {
  ObjectLedger ledger;
  ledger.SetFile("f", Objects({PodIn("a", "a", "f")}));
  ledger.SetFile("g", Objects({Policy("a", "g")}));
  EXPECT_THAT(Describe(ledger.TakeEvents()), ElementsAre("+Pod x/a", "+NetworkPolicy x/a"));
  EXPECT_THAT(ledger.Duplicates(), IsEmpty());
}

}  // namespace
}  // namespace flatwall::agent
