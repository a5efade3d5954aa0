// The directory source on real files and the real inotify: first listing, edits by rename
// and in place, moves, invalid edits, duplicates, ignored names, subdirectories, symlink
// swaps, the root going away, queue overflow, and the descriptor's readiness.
#include "agent/daemon/directory_source.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::agent {
namespace {

namespace fs = std::filesystem;
using ::flatwall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string NamespaceYaml(const std::string& name) {
  return absl::StrCat("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ", name, "\n");
}

std::string PodYaml(const std::string& name, const std::string& app) {
  return absl::StrCat("apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: x\n  name: ", name,
                      "\n  labels: {app: ", app,
                      "}\nspec:\n  containers: [{name: c, image: agnhost}]\n");
}

std::string PolicyYaml(const std::string& name) {
  return absl::StrCat(
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  namespace: x\n"
      "  name: ",
      name, "\nspec:\n  podSelector: {}\n");
}

// Line 8 holds the invalid endPort.
std::string InvalidPolicyYaml(const std::string& name) {
  return absl::StrCat(PolicyYaml(name),
                      "  ingress:\n  - ports:\n    - port: 80\n      endPort: 70\n");
}

std::string Docs(const std::vector<std::string>& documents) {
  std::string text;
  for (const std::string& document : documents) absl::StrAppend(&text, "---\n", document);
  return text;
}

// "+Pod x/a" for an upsert, "-Pod x/a" for a delete.
std::vector<std::string> Describe(const std::vector<compiler::ClusterEvent>& events) {
  std::vector<std::string> described;
  for (const compiler::ClusterEvent& event : events) {
    described.push_back(absl::StrCat(event.kind == compiler::ClusterEvent::kUpsert ? "+" : "-",
                                     std::string(compiler::ObjectKind(event.object)), " ",
                                     compiler::ObjectKey(event.object)));
  }
  return described;
}

class DirectorySourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/flatwall-dirsource-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
    root_ = base_ + "/manifests";
    ASSERT_TRUE(fs::create_directory(root_));
  }
  void TearDown() override {
    std::error_code error;
    fs::remove_all(base_, error);
  }

  std::string Path(const std::string& relative) const { return root_ + "/" + relative; }

  // As the lab and most tools do it: a temporary name, then a rename over the file.
  void WriteByRename(const std::string& relative, const std::string& contents) const {
    std::string temporary = (fs::path(Path(relative)).parent_path() /
                             absl::StrCat(".", fs::path(relative).filename().string(), ".tmp"))
                                .string();
    std::ofstream(temporary, std::ios::binary | std::ios::trunc) << contents;
    fs::rename(temporary, Path(relative));
  }
  // As an editor without backup files does it: truncate and write the same inode.
  void WriteInPlace(const std::string& relative, const std::string& contents) const {
    std::ofstream(Path(relative), std::ios::binary | std::ios::trunc) << contents;
  }

  std::unique_ptr<DirectorySource> OpenSource() const {
    absl::StatusOr<std::unique_ptr<DirectorySource>> source = DirectorySource::Open(root_);
    EXPECT_THAT(source, ::flatwall::testing::IsOk());
    return source.ok() ? *std::move(source) : nullptr;
  }

  static std::vector<std::string> SyncDescribed(DirectorySource& source) {
    absl::StatusOr<std::vector<compiler::ClusterEvent>> events = SyncEvents(source);
    EXPECT_THAT(events, ::flatwall::testing::IsOk());
    return events.ok() ? Describe(*events) : std::vector<std::string>{"sync failed"};
  }

  std::string base_;
  std::string root_;
};

TEST_F(DirectorySourceTest, OpenFailsWhenRootIsMissingOrNotADirectory) {
  WriteByRename("file.yaml", NamespaceYaml("x"));
  for (const std::string& root : {Path("missing"), Path("file.yaml")}) {
    SCOPED_TRACE(root);
    EXPECT_THAT(DirectorySource::Open(root),
                StatusIs(absl::StatusCode::kNotFound, HasSubstr(root)));
  }
}

TEST_F(DirectorySourceTest, FirstSyncListsEveryObjectNamespacesFirstPoliciesLast) {
  WriteByRename("policies.yaml", PolicyYaml("deny"));
  ASSERT_TRUE(fs::create_directories(Path("apps/x")));
  WriteByRename("apps/x/pods.yml", Docs({PodYaml("b", "b"), PodYaml("a", "a")}));
  WriteByRename("namespaces.json",
                R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})");
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);

  EXPECT_THAT(SyncDescribed(*source),
              ElementsAre("+Namespace x", "+Pod x/a", "+Pod x/b", "+NetworkPolicy x/deny"));
  EXPECT_THAT(source->errors(), IsEmpty());
  EXPECT_THAT(SyncDescribed(*source), IsEmpty());
}

TEST_F(DirectorySourceTest, UpsertsCarryTheDecodedObjectAndItsSource) {
  WriteByRename("pods.yaml", Docs({PodYaml("a", "web")}));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  absl::StatusOr<std::vector<compiler::ClusterEvent>> events = SyncEvents(*source);
  FW_ASSERT_OK(events);
  ASSERT_THAT(*events, SizeIs(1));
  const auto* pod = std::get_if<compiler::Pod>(&(*events)[0].object);
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->labels.at("app"), "web");
  EXPECT_EQ(pod->source.file, Path("pods.yaml"));
  EXPECT_EQ(pod->source.line, 2);
}

TEST_F(DirectorySourceTest, EditsByRenameAndInPlaceReportOnlyWhatChanged) {
  WriteByRename("all.yaml", Docs({NamespaceYaml("x"), PodYaml("a", "a"), PolicyYaml("deny")}));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(3));

  WriteByRename("all.yaml", Docs({NamespaceYaml("x"), PodYaml("a", "b")}));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a", "-NetworkPolicy x/deny"));

  // Same size, same inode, likely the same mtime tick: only the close-after-write tells.
  WriteInPlace("all.yaml", Docs({NamespaceYaml("x"), PodYaml("a", "c")}));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));

  WriteInPlace("all.yaml", Docs({NamespaceYaml("x"), PodYaml("a", "c"), PolicyYaml("deny")}));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+NetworkPolicy x/deny"));
}

TEST_F(DirectorySourceTest, RemovedFileDeletesPoliciesBeforePodsBeforeNamespaces) {
  WriteByRename("all.yaml", Docs({NamespaceYaml("x"), PodYaml("a", "a"), PolicyYaml("deny")}));
  WriteByRename("other.yaml", Docs({PodYaml("z", "z")}));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(4));

  fs::remove(Path("all.yaml"));
  EXPECT_THAT(SyncDescribed(*source),
              ElementsAre("-NetworkPolicy x/deny", "-Pod x/a", "-Namespace x"));
}

TEST_F(DirectorySourceTest, ObjectMovedBetweenOrInsideFilesIsNeverDeleted) {
  WriteByRename("a.yaml", Docs({PodYaml("a", "a"), PodYaml("b", "b")}));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(2));

  // Moved inside its file: nothing to report.
  WriteByRename("a.yaml", Docs({PodYaml("b", "b"), PodYaml("a", "a")}));
  EXPECT_THAT(SyncDescribed(*source), IsEmpty());

  // Moved to another file: re-reported with its new file, never deleted in between.
  WriteByRename("b.yaml", Docs({PodYaml("a", "a")}));
  WriteByRename("a.yaml", Docs({PodYaml("b", "b")}));
  absl::StatusOr<std::vector<compiler::ClusterEvent>> events = SyncEvents(*source);
  FW_ASSERT_OK(events);
  EXPECT_THAT(Describe(*events), ElementsAre("+Pod x/a"));
  EXPECT_EQ(std::get<compiler::Pod>((*events)[0].object).source.file, Path("b.yaml"));
  EXPECT_THAT(source->errors(), IsEmpty());
}

TEST_F(DirectorySourceTest, InvalidEditKeepsOldObjectsAndFixClearsTheError) {
  WriteByRename("policy.yaml", Docs({PolicyYaml("web"), PodYaml("a", "a")}));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(2));

  WriteByRename("policy.yaml", Docs({InvalidPolicyYaml("web"), PodYaml("a", "changed")}));
  EXPECT_THAT(SyncDescribed(*source), IsEmpty());
  ASSERT_THAT(source->errors(), SizeIs(1));
  EXPECT_EQ(source->errors()[0].file, Path("policy.yaml"));
  EXPECT_THAT(
      source->errors()[0].message,
      HasSubstr(absl::StrCat(Path("policy.yaml"), ":12: spec.ingress[0].ports[0].endPort")));
  EXPECT_EQ(source->failed_reads(), 1u);

  // Unchanged on disk: not re-read, still reported, not counted again.
  EXPECT_THAT(SyncDescribed(*source), IsEmpty());
  EXPECT_THAT(source->errors(), SizeIs(1));
  EXPECT_EQ(source->failed_reads(), 1u);

  WriteByRename("policy.yaml", Docs({PolicyYaml("web"), PodYaml("a", "changed")}));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));
  EXPECT_THAT(source->errors(), IsEmpty());
  EXPECT_EQ(source->failed_reads(), 1u);
}

TEST_F(DirectorySourceTest, ObjectDefinedTwiceInOneFileRejectsTheFile) {
  WriteByRename("pods.yaml", Docs({PodYaml("a", "a")}));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(1));

  WriteByRename("pods.yaml", Docs({PodYaml("a", "b"), PodYaml("a", "c")}));
  EXPECT_THAT(SyncDescribed(*source), IsEmpty());
  ASSERT_THAT(source->errors(), SizeIs(1));
  EXPECT_THAT(source->errors()[0].message,
              HasSubstr(absl::StrCat(Path("pods.yaml"),
                                     ":11: Pod x/a is defined again (first at line 2)")));
}

TEST_F(DirectorySourceTest, FileRemovedWhileInvalidDeletesItsLastGoodObjects) {
  WriteByRename("policy.yaml", Docs({PolicyYaml("web")}));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(1));
  WriteInPlace("policy.yaml", "kind: [unclosed");
  EXPECT_THAT(SyncDescribed(*source), IsEmpty());
  ASSERT_THAT(source->errors(), SizeIs(1));

  fs::remove(Path("policy.yaml"));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("-NetworkPolicy x/web"));
  EXPECT_THAT(source->errors(), IsEmpty());
}

TEST_F(DirectorySourceTest, InvalidFileOnFirstSyncContributesNothingButIsListed) {
  WriteByRename("bad.yaml", InvalidPolicyYaml("web"));
  WriteByRename("good.yaml", PolicyYaml("other"));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+NetworkPolicy x/other"));
  ASSERT_THAT(source->errors(), SizeIs(1));
  EXPECT_EQ(source->errors()[0].file, Path("bad.yaml"));
}

TEST_F(DirectorySourceTest, SubdirectoriesCreatedLaterAreWatched) {
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(SyncDescribed(*source), IsEmpty());

  ASSERT_TRUE(fs::create_directory(Path("later")));
  EXPECT_THAT(SyncDescribed(*source), IsEmpty());
  WriteByRename("later/pod.yaml", PodYaml("a", "a"));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));

  // Created and filled before the source looks: found by the scan of the new directory.
  ASSERT_TRUE(fs::create_directories(Path("deep/er/est")));
  WriteByRename("deep/er/est/pod.yaml", PodYaml("b", "b"));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/b"));
  // And watched from then on.
  WriteInPlace("deep/er/est/pod.yaml", PodYaml("b", "c"));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/b"));

  fs::remove_all(Path("deep"));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("-Pod x/b"));
}

// "a-b" and "a.yaml" sort between "a" and "a/...": removing "a" must still find all of it.
TEST_F(DirectorySourceTest, RemovedDirectoryTakesOnlyItsOwnObjects) {
  ASSERT_TRUE(fs::create_directories(Path("a/in")));
  ASSERT_TRUE(fs::create_directory(Path("a-b")));
  WriteByRename("a/in/pod.yaml", PodYaml("in-a", "a"));
  WriteByRename("a-b/pod.yaml", PodYaml("in-a-b", "a"));
  WriteByRename("a.yaml", PodYaml("beside-a", "a"));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(3));

  // Renamed away: no notification per file, the directory's own must do.
  fs::rename(Path("a"), base_ + "/a");
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("-Pod x/in-a"));
  fs::remove_all(Path("a-b"));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("-Pod x/in-a-b"));
}

TEST_F(DirectorySourceTest, DirectoryRenamedInsideRootKeepsObjectsAndFollowsNewName) {
  ASSERT_TRUE(fs::create_directories(Path("old/sub")));
  WriteByRename("old/sub/pod.yaml", PodYaml("a", "a"));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(1));

  fs::rename(Path("old"), Path("new"));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));  // its file changed

  WriteInPlace("new/sub/pod.yaml", PodYaml("a", "b"));
  absl::StatusOr<std::vector<compiler::ClusterEvent>> events = SyncEvents(*source);
  FW_ASSERT_OK(events);
  ASSERT_THAT(Describe(*events), ElementsAre("+Pod x/a"));
  EXPECT_EQ(std::get<compiler::Pod>((*events)[0].object).source.file, Path("new/sub/pod.yaml"));

  // Moved out of the root: its objects go.
  fs::rename(Path("new"), base_ + "/elsewhere");
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("-Pod x/a"));
  WriteInPlace("../elsewhere/sub/pod.yaml", PodYaml("a", "c"));
  EXPECT_THAT(SyncDescribed(*source), IsEmpty());
}

TEST_F(DirectorySourceTest, SameObjectInTwoFilesFirstInPathOrderWins) {
  WriteByRename("b.yaml", Docs({PodYaml("a", "from-b"), PodYaml("other", "o")}));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(2));

  WriteByRename("a.yaml", Docs({PodYaml("a", "from-a")}));
  absl::StatusOr<std::vector<compiler::ClusterEvent>> events = SyncEvents(*source);
  FW_ASSERT_OK(events);
  ASSERT_THAT(Describe(*events), ElementsAre("+Pod x/a"));
  EXPECT_EQ(std::get<compiler::Pod>((*events)[0].object).labels.at("app"), "from-a");
  ASSERT_THAT(source->errors(), SizeIs(1));
  EXPECT_EQ(source->errors()[0].file, Path("b.yaml"));
  EXPECT_THAT(
      source->errors()[0].message,
      HasSubstr(absl::StrCat(Path("b.yaml"), ":2: Pod x/a is also defined in ", Path("a.yaml"))));

  fs::remove(Path("a.yaml"));
  events = SyncEvents(*source);
  FW_ASSERT_OK(events);
  ASSERT_THAT(Describe(*events), ElementsAre("+Pod x/a"));
  EXPECT_EQ(std::get<compiler::Pod>((*events)[0].object).labels.at("app"), "from-b");
  EXPECT_THAT(source->errors(), IsEmpty());
}

TEST_F(DirectorySourceTest, NonManifestNamesAreIgnored) {
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), IsEmpty());
  ASSERT_TRUE(fs::create_directory(Path(".hidden")));
  for (const char* name : {".dot.yaml", "pod.yaml~", ".pod.yaml.swp", "notes.txt", "4913",
                           ".#pod.yaml", "pod.yaml.bak", ".hidden/pod.yaml"}) {
    SCOPED_TRACE(name);
    WriteInPlace(name, PodYaml("a", "a"));
    EXPECT_THAT(SyncDescribed(*source), IsEmpty());
  }
  EXPECT_THAT(source->errors(), IsEmpty());
  // Nor are they found by a full scan.
  std::unique_ptr<DirectorySource> fresh = OpenSource();
  ASSERT_NE(fresh, nullptr);
  EXPECT_THAT(SyncDescribed(*fresh), IsEmpty());
}

TEST_F(DirectorySourceTest, GarbageHugeAndSpecialFilesAreErrorsNotCrashes) {
  WriteByRename("good.yaml", PodYaml("a", "a"));
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary.push_back(static_cast<char>((i * 7919) & 0xff));
  WriteByRename("binary.yaml", binary);
  {
    std::ofstream(Path("huge.json"));
    fs::resize_file(Path("huge.json"), kMaxManifestFileBytes + 1);  // sparse: no disk used
  }
  ASSERT_EQ(mkfifo(Path("fifo.yaml").c_str(), 0600), 0);  // reading it would block
  fs::create_symlink(Path("nowhere.yaml.target"), Path("dangling.yaml"));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);

  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));
  std::vector<std::string> failing;
  for (const SourceFileError& error : source->errors()) {
    EXPECT_THAT(error.message, HasSubstr(error.file));
    failing.push_back(fs::path(error.file).filename().string());
  }
  EXPECT_THAT(failing, ElementsAre("binary.yaml", "dangling.yaml", "fifo.yaml", "huge.json"));
  EXPECT_EQ(source->failed_reads(), 4u);

  // The symlink gets its target: read then.
  WriteByRename("nowhere.yaml.target", PolicyYaml("late"));
  fs::remove(Path("dangling.yaml"));
  fs::create_symlink(Path("nowhere.yaml.target"), Path("dangling.yaml"));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+NetworkPolicy x/late"));
  EXPECT_THAT(source->errors(), SizeIs(3));
}

// A ConfigMap volume: manifests are symlinks through `..data`, which kubelet swaps
// atomically to a new hidden directory.
TEST_F(DirectorySourceTest, SymlinkSwapLikeAConfigMapUpdateIsFollowed) {
  ASSERT_TRUE(fs::create_directory(Path("..v1")));
  std::ofstream(Path("..v1/pods.yaml")) << PodYaml("a", "v1");
  fs::create_directory_symlink("..v1", Path("..data"));
  fs::create_symlink("..data/pods.yaml", Path("pods.yaml"));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));

  ASSERT_TRUE(fs::create_directory(Path("..v2")));
  std::ofstream(Path("..v2/pods.yaml")) << PodYaml("a", "v2");
  fs::create_directory_symlink("..v2", Path("..data_tmp"));
  fs::rename(Path("..data_tmp"), Path("..data"));
  absl::StatusOr<std::vector<compiler::ClusterEvent>> events = SyncEvents(*source);
  FW_ASSERT_OK(events);
  ASSERT_THAT(Describe(*events), ElementsAre("+Pod x/a"));
  EXPECT_EQ(std::get<compiler::Pod>((*events)[0].object).labels.at("app"), "v2");
}

TEST_F(DirectorySourceTest, RootRenamedAwayKeepsObjectsUntilItIsBack) {
  WriteByRename("pod.yaml", PodYaml("a", "a"));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(1));

  fs::rename(root_, base_ + "/away");
  EXPECT_THAT(SyncDescribed(*source), IsEmpty());
  ASSERT_THAT(source->errors(), SizeIs(1));
  EXPECT_THAT(source->errors()[0].message, HasSubstr("removed or renamed"));

  // Its return is seen by the descriptor, and what changed meanwhile is read.
  std::ofstream(base_ + "/away/pod.yaml", std::ios::trunc) << PodYaml("a", "b");
  fs::rename(base_ + "/away", root_);
  struct pollfd ready = {source->fd(), POLLIN, 0};
  EXPECT_EQ(poll(&ready, 1, 1000), 1);
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));
  EXPECT_THAT(source->errors(), IsEmpty());
  WriteInPlace("pod.yaml", PodYaml("a", "c"));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));
}

TEST_F(DirectorySourceTest, QueueOverflowRereadsEverything) {
  WriteByRename("pod.yaml", PodYaml("a", "a"));
  WriteByRename("noise-1.txt", "");
  WriteByRename("noise-2.txt", "");
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(1));

  // Alternating files, so the kernel cannot merge the events, until the queue overflows;
  // the notification of the write that follows is lost.
  int limit = 16384;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> limit;
  for (int i = 0; i <= limit / 2 + 1; ++i) {
    utimes(Path("noise-1.txt").c_str(), nullptr);
    utimes(Path("noise-2.txt").c_str(), nullptr);
  }
  WriteInPlace("pod.yaml", PodYaml("a", "b"));
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));
}

// `cp -p` and `rsync -t` rewrite a file in place and then restore its mtime: with the size
// unchanged, only the close-after-write notification tells that the contents changed.
TEST_F(DirectorySourceTest, InPlaceWriteKeepingSizeAndMtimeIsStillRead) {
  WriteByRename("pod.yaml", PodYaml("a", "a"));
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), SizeIs(1));
  struct stat before;
  ASSERT_EQ(stat(Path("pod.yaml").c_str(), &before), 0);

  WriteInPlace("pod.yaml", PodYaml("a", "b"));
  struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, Path("pod.yaml").c_str(), times, 0), 0);
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));
}

// Reading a file before its writer closes it could see half of it.
TEST_F(DirectorySourceTest, NewFileIsReadWhenItsWriterClosesIt) {
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), IsEmpty());
  std::string pod = PodYaml("a", "a");
  {
    std::ofstream out(Path("pod.yaml"), std::ios::binary);
    out << pod.substr(0, pod.size() / 2) << std::flush;
    EXPECT_THAT(SyncDescribed(*source), IsEmpty());
    EXPECT_THAT(source->errors(), IsEmpty());
    out << pod.substr(pod.size() / 2);
  }
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));
  EXPECT_EQ(source->failed_reads(), 0u);
}

TEST_F(DirectorySourceTest, DescriptorBecomesReadableAfterAChange) {
  std::unique_ptr<DirectorySource> source = OpenSource();
  ASSERT_NE(source, nullptr);
  ASSERT_THAT(SyncDescribed(*source), IsEmpty());
  struct pollfd ready = {source->fd(), POLLIN, 0};
  EXPECT_EQ(poll(&ready, 1, 0), 0);

  WriteByRename("pod.yaml", PodYaml("a", "a"));
  ready.revents = 0;
  EXPECT_EQ(poll(&ready, 1, 1000), 1);
  EXPECT_TRUE(ready.revents & POLLIN);
  EXPECT_THAT(SyncDescribed(*source), ElementsAre("+Pod x/a"));
  ready.revents = 0;
  EXPECT_EQ(poll(&ready, 1, 0), 0);
}

}  // namespace
}  // namespace flatwall::agent
