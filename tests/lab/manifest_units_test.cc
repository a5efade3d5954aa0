#include "agent/lab/manifest_units.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/lab/lab_test_util.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::lab {
namespace {

using ::flatwall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kNamespaceAndPod[] =
    "# two objects\n"
    "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\nmetadata: {namespace: x, name: a, labels: {v: '1'}}\n"
    "spec: {containers: [{name: c, image: i}]}\n";

constexpr char kPodListJson[] = R"({"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "x", "name": "b"},
   "spec": {"containers": [{"name": "c", "image": "i"}]}},
  {"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "x", "name": "c"},
   "spec": {"containers": [{"name": "c", "image": "i"}]}}]})";

std::vector<ManifestUnit> MustRead(const std::vector<std::string>& paths) {
  absl::StatusOr<std::vector<ManifestUnit>> units = ReadManifestUnits(paths);
  EXPECT_TRUE(units.ok()) << units.status();
  return units.ok() ? *units : std::vector<ManifestUnit>{};
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ManifestUnitsTest, EachDocumentIsAUnitNamedAfterItsObject) {
  TempDir dir;
  std::vector<ManifestUnit> units =
      MustRead({dir.Write("a.yaml", kNamespaceAndPod), dir.Write("list.json", kPodListJson)});
  ASSERT_EQ(units.size(), 3u);
  EXPECT_EQ(units[0].file_name, "namespace.x.yaml");
  EXPECT_THAT(units[0].object_ids, ElementsAre("Namespace x"));
  EXPECT_EQ(units[1].file_name, "pod.x.a.yaml");
  EXPECT_THAT(units[1].text, ::testing::StartsWith("---\napiVersion: v1\nkind: Pod"));
  EXPECT_EQ(units[2].file_name, "list.pod.x.b.json");
  EXPECT_THAT(units[2].object_ids, ElementsAre("Pod x/b", "Pod x/c"));
}

TEST(ManifestUnitsTest, InvalidObjectsAreReportedWithTheirFileLines) {
  TempDir dir;
  std::string path = dir.Write(
      "bad.yaml", std::string(kNamespaceAndPod) +
                      "---\napiVersion: v1\nkind: Pod\nmetadata: {namespace: x, name: BAD}\n"
                      "spec: {containers: [{name: c, image: i}]}\n");
  EXPECT_THAT(ReadManifestUnits({path}), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("bad.yaml:13: metadata.name")));
  EXPECT_THAT(ReadManifestUnits({dir.path() + "/missing.yaml"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.yaml")));
}

TEST(ManifestUnitsTest, ApplyReplacesObjectsAndDeleteRemovesThem) {
  TempDir dir;
  DesiredManifests desired;
  FW_ASSERT_OK(desired.Apply(MustRead({dir.Write("a.yaml", kNamespaceAndPod)})));
  std::string changed =
      dir.Write("a2.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata: {namespace: x, name: a, labels: {v: '2'}}\n"
                "spec: {containers: [{name: c, image: i}]}\n");
  FW_ASSERT_OK(desired.Apply(MustRead({changed})));
  EXPECT_EQ(desired.units().size(), 2u);
  EXPECT_EQ(desired.State().FindPod("x/a")->labels.at("v"), "2");

  FW_ASSERT_OK(desired.Delete(MustRead({changed})));
  EXPECT_EQ(desired.State().FindPod("x/a"), nullptr);
  EXPECT_THAT(desired.Delete(MustRead({changed})),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("Pod x/a")));
}

TEST(ManifestUnitsTest, PartOfAListCanBeNeitherReplacedNorDeleted) {
  TempDir dir;
  DesiredManifests desired;
  FW_ASSERT_OK(desired.Apply(MustRead({dir.Write("list.json", kPodListJson)})));
  std::vector<ManifestUnit> one =
      MustRead({dir.Write("b.yaml",
                          "apiVersion: v1\nkind: Pod\nmetadata: {namespace: x, name: b}\n"
                          "spec: {containers: [{name: c, image: i}]}\n")});
  EXPECT_THAT(desired.Apply(one),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("List")));
  EXPECT_THAT(desired.Delete(one),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("List")));
  EXPECT_EQ(desired.units().size(), 1u);  // unchanged
  FW_EXPECT_OK(desired.Delete(MustRead({dir.path() + "/list.json"})));
  EXPECT_TRUE(desired.units().empty());
}

TEST(ManifestUnitsTest, SaveAndLoadRoundTrip) {
  TempDir dir;
  DesiredManifests desired;
  FW_ASSERT_OK(desired.Apply(
      MustRead({dir.Write("a.yaml", kNamespaceAndPod), dir.Write("list.json", kPodListJson)})));
  FW_ASSERT_OK(SyncDirectory(dir.path() + "/saved", desired.Files()));
  absl::StatusOr<DesiredManifests> loaded = DesiredManifests::Load(dir.path() + "/saved");
  FW_ASSERT_OK(loaded);
  EXPECT_EQ(loaded->Files(), desired.Files());
  EXPECT_EQ(loaded->units().at("list.pod.x.b.json").object_ids,
            desired.units().at("list.pod.x.b.json").object_ids);
}

TEST(ManifestUnitsTest, SyncDirectoryWritesChangesAndRemovesTheRest) {
  TempDir dir;
  std::string target = dir.path() + "/node";
  FW_ASSERT_OK(SyncDirectory(target, {{"a.yaml", "one"}, {"b.yaml", "two"}}));
  dir.Write("node/notes.txt", "not a manifest: left alone");
  FW_ASSERT_OK(SyncDirectory(target, {{"a.yaml", "changed"}, {"c.json", "three"}}));
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : std::filesystem::directory_iterator(target)) {
    files.emplace_back(entry.path().filename().string(), ReadText(entry.path().string()));
  }
  std::sort(files.begin(), files.end());
  EXPECT_THAT(files, ElementsAre(Pair("a.yaml", "changed"), Pair("c.json", "three"),
                                 Pair("notes.txt", "not a manifest: left alone")));
}

}  // namespace
}  // namespace flatwall::lab
