// `flatwall logs` and `flatwall logs verify`, run as the built binary on a fixture log:
// an active file and its rotation, sealed into one hash chain as the agent writes them.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "agent/daemon/verdict_chain.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace flatwall::cli {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The fixture's records in chain order, without seq and prev_hash: schema 2 up to the
// SUPPRESSED record, then schema 3 (an agent upgraded mid-file), whose isolated_by holds
// objects instead of "namespace/name" strings.
const char* const kRecords[] = {
    R"({"schema":2,"time":"2026-11-26T15:31:10.000000000Z","node":"node-1","reason":"STARTUP"})",
    R"({"schema":2,"time":"2026-11-26T15:31:11.000000000Z","node":"node-1","verdict":"deny",
        "reason":"DEFAULT_DENY","direction":"ingress","hook":"to-pod","protocol":"TCP",
        "src":{"ip":"10.10.1.7","port":40000,"kind":"pod","namespace":"y","name":"b"},
        "dst":{"ip":"10.10.1.5","port":81,"kind":"pod","namespace":"x","name":"a"},
        "tcp_flags":["SYN"],"isolated_by":["x/allow-b","x/deny-all"],"packets":1,"bytes":74})",
    R"({"schema":2,"time":"2026-11-26T15:31:12.000000000Z","node":"node-1","verdict":"allow",
        "reason":"RULE","direction":"ingress","hook":"to-pod","protocol":"TCP",
        "src":{"ip":"10.10.1.7","port":40001,"kind":"pod","namespace":"y","name":"b"},
        "dst":{"ip":"10.10.1.5","port":80,"kind":"pod","namespace":"x","name":"a"},
        "policy":{"rule_id":7,"namespace":"x","name":"allow-b","direction":"ingress","index":0},
        "packets":1,"bytes":74})",
    R"({"schema":2,"time":"2026-11-26T15:31:13.000000000Z","node":"node-1","reason":"SUPPRESSED",
        "endpoint":{"ip":"10.10.1.5","kind":"pod","namespace":"x","name":"a"},"count":250})",
    R"({"schema":3,"time":"2026-11-26T15:31:14.000000000Z","node":"node-1","verdict":"deny",
        "reason":"DEFAULT_DENY","direction":"egress","hook":"from-pod","protocol":"UDP",
        "src":{"ip":"10.10.1.8","port":5353,"kind":"pod","namespace":"z","name":"c"},
        "dst":{"ip":"8.8.8.8","port":53,"kind":"external"},
        "isolated_by":[{"namespace":"z","name":"egress-lock","uid":"u-3","generation":1}],
        "packets":9,"bytes":900,"time_end":"2026-11-26T15:31:18.000000000Z"})",
    R"({"schema":3,"time":"2026-11-26T15:31:19.000000000Z","node":"node-1","verdict":"deny",
        "reason":"DEFAULT_DENY","direction":"ingress","hook":"to-pod","protocol":"ICMP",
        "icmp":{"type":8,"code":0,"echo_id":4660},
        "src":{"ip":"10.10.1.7","kind":"pod","namespace":"y","name":"b"},
        "dst":{"ip":"10.10.1.5","kind":"pod","namespace":"x","name":"a"},
        "isolated_by":[{"namespace":"x","name":"allow-b","uid":"u-1","generation":2},
                       {"namespace":"x","name":"deny-all","uid":"u-2","generation":1}],
        "packets":1,"bytes":98})",
};

struct Result {
  int exit_code = -1;
  std::string out;
};

class LogsCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("flatwall-logs-test-", getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    active_ = (dir_ / "verdicts.jsonl").string();
    rotated_ = active_ + ".1";
    // Records 1-3 in the rotated file, 4-6 in the active one.
    agent::ChainLink link;
    for (size_t i = 0; i < std::size(kRecords); ++i) {
      json record = json::parse(kRecords[i]);
      lines_.push_back(agent::SealRecord(record, link));
      std::ofstream(i < 3 ? rotated_ : active_, std::ios::app) << lines_.back() << "\n";
    }
    last_link_ = link;
  }
  void TearDown() override {
    if (follower_ > 0) {
      kill(follower_, SIGKILL);
      waitpid(follower_, nullptr, 0);
    }
    if (follower_out_ >= 0) close(follower_out_);
    std::filesystem::remove_all(dir_);
  }

  // Starts the binary with stdout on a pipe; returns its pid.
  pid_t Spawn(const std::vector<std::string>& args, int& out_fd) {
    int pipe_fds[2];
    EXPECT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    std::vector<std::string> argv_text = {FLATWALL_BINARY, "logs"};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_text) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, FLATWALL_BINARY, &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    out_fd = pipe_fds[0];
    return pid;
  }

  Result Run(const std::vector<std::string>& args) {
    int out_fd = -1;
    pid_t pid = Spawn(args, out_fd);
    Result result;
    char buffer[4096];
    ssize_t got;
    while ((got = read(out_fd, buffer, sizeof(buffer))) > 0) result.out.append(buffer, got);
    close(out_fd);
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

  // Reads the follower's output until it holds `lines` lines or 10 s pass.
  std::vector<std::string> FollowerLines(size_t lines) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<std::string> split = absl::StrSplit(followed_, '\n', absl::SkipEmpty());
      if (split.size() >= lines) return split;
      pollfd fd{follower_out_, POLLIN, 0};
      if (poll(&fd, 1, 100) > 0) {
        char buffer[4096];
        ssize_t got = read(follower_out_, buffer, sizeof(buffer));
        if (got > 0) followed_.append(buffer, got);
      }
    }
    return absl::StrSplit(followed_, '\n', absl::SkipEmpty());
  }

  // The `seq` of each JSON line printed.
  static std::vector<int> Seqs(const std::string& out) {
    std::vector<int> seqs;
    for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
      seqs.push_back(json::parse(line)["seq"].get<int>());
    }
    return seqs;
  }

  std::filesystem::path dir_;
  std::string active_, rotated_;
  std::vector<std::string> lines_;
  agent::ChainLink last_link_;
  pid_t follower_ = -1;
  int follower_out_ = -1;
  std::string followed_;
};

TEST_F(LogsCommandTest, PrintsEveryRecordOfRotatedFilesInChainOrder) {
  Result result = Run({"-o", "json", active_, rotated_});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(Seqs(result.out), ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST_F(LogsCommandTest, FiltersSelectRecords) {
  struct Case {
    std::vector<std::string> filter;
    std::vector<int> want_seqs;
  };
  const Case cases[] = {
      // Non-verdict records (STARTUP, SUPPRESSED) pass --verdict: they may hide either.
      {{"--verdict", "deny"}, {1, 2, 4, 5, 6}},
      {{"--verdict", "allow"}, {1, 3, 4}},
      {{"--namespace", "x"}, {2, 3, 4, 6}},
      {{"--pod", "z/c"}, {5}},
      {{"--pod", "b"}, {2, 3, 6}},
      // The allowing rule's policy, or an isolating one (a schema-2 string or an object).
      {{"--policy", "allow-b"}, {2, 3, 6}},
      {{"--policy", "z/egress-lock"}, {5}},
      {{"--policy", "egress-lock"}, {5}},
      {{"--verdict", "deny", "--namespace", "x", "--policy", "x/deny-all"}, {2, 6}},
      {{"--policy", "y/deny-all"}, {}},
      {{"--pod", "nobody"}, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrJoin(c.filter, " "));
    std::vector<std::string> args = c.filter;
    args.insert(args.end(), {"-o", "json", rotated_, active_});
    Result result = Run(args);
    EXPECT_EQ(result.exit_code, 0);
    EXPECT_EQ(Seqs(result.out), c.want_seqs);
  }
}

TEST_F(LogsCommandTest, TextOutputIsOneReadableLinePerRecord) {
  Result result = Run({rotated_, active_});
  EXPECT_EQ(result.exit_code, 0);
  std::vector<std::string> lines = absl::StrSplit(result.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0],
            "2026-11-26T15:31:10.000000000Z node-1 #1 STARTUP agent started reading events");
  EXPECT_EQ(lines[1],
            "2026-11-26T15:31:11.000000000Z node-1 #2 DENY DEFAULT_DENY ingress TCP[SYN] "
            "y/b(10.10.1.7:40000) -> x/a(10.10.1.5:81) isolated by x/allow-b,x/deny-all");
  EXPECT_EQ(lines[2],
            "2026-11-26T15:31:12.000000000Z node-1 #3 ALLOW RULE ingress TCP "
            "y/b(10.10.1.7:40001) -> x/a(10.10.1.5:80) by x/allow-b ingress[0]");
  EXPECT_EQ(lines[3],
            "2026-11-26T15:31:13.000000000Z node-1 #4 SUPPRESSED 250 event(s) of "
            "x/a(10.10.1.5) dropped by the rate limit or a full ring buffer");
  EXPECT_EQ(lines[4],
            "2026-11-26T15:31:14.000000000Z node-1 #5 DENY DEFAULT_DENY egress UDP "
            "z/c(10.10.1.8:5353) -> 8.8.8.8:53 isolated by z/egress-lock x9 packets, 900 bytes "
            "until 2026-11-26T15:31:18.000000000Z");
  EXPECT_EQ(lines[5],
            "2026-11-26T15:31:19.000000000Z node-1 #6 DENY DEFAULT_DENY ingress ICMP[8/0] "
            "y/b(10.10.1.7) -> x/a(10.10.1.5) isolated by x/allow-b,x/deny-all");
}

TEST_F(LogsCommandTest, VerifyAcceptsAnIntactChainAcrossRotationInAnyOrder) {
  Result result = Run({"verify", active_, rotated_});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "ok: 6 record(s), seq 1..6, chain intact across 2 file(s)\n");
}

TEST_F(LogsCommandTest, VerifyAcceptsAChainWhoseSchemaChangesMidFile) {
  // The active file: a schema-2 record, then schema-3 ones, as after an agent upgrade.
  std::vector<int> schemas;
  std::ifstream active(active_);
  for (std::string line; std::getline(active, line);) {
    schemas.push_back(json::parse(line)["schema"].get<int>());
  }
  ASSERT_THAT(schemas, ElementsAre(2, 3, 3));
  Result result = Run({"verify", active_});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, "ok: 3 record(s), seq 4..6, chain intact across 1 file(s)\n");
}

TEST_F(LogsCommandTest, VerifyNamesTheFirstBadLineOfATamperedLog) {
  std::string rotated = lines_[0] + "\n" + lines_[1] + "\n" + lines_[2] + "\n";
  rotated.replace(rotated.find("\"deny\""), 6, "\"allow\"");
  std::ofstream(rotated_, std::ios::trunc) << rotated;
  Result result = Run({"verify", rotated_, active_});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, rotated_ + ":3: prev_hash is not the hash of the previous record (" +
                            rotated_ + ":2): that record or this one was altered\n");
}

TEST_F(LogsCommandTest, UnknownOptionIsAUsageError) {
  EXPECT_EQ(Run({"--verdict", "maybe", active_}).exit_code, 2);
  EXPECT_EQ(Run({"--colour", active_}).exit_code, 2);
  EXPECT_EQ(Run({"verify"}).exit_code, 2);
}

TEST_F(LogsCommandTest, FollowPrintsNewRecordsAndFollowsRotation) {
  follower_ = Spawn({"--follow", "-o", "json", rotated_, active_}, follower_out_);
  EXPECT_EQ(FollowerLines(6).size(), 6u);

  auto append = [&](const std::string& path) {
    json record = json::parse(kRecords[1]);
    std::ofstream(path, std::ios::app) << agent::SealRecord(record, last_link_) << "\n";
  };
  append(active_);
  // Rotation: the active file is renamed and a new one started.
  std::filesystem::rename(active_, active_ + ".2");
  append(active_);
  append(active_);
  std::vector<std::string> lines = FollowerLines(9);
  ASSERT_EQ(lines.size(), 9u);
  EXPECT_EQ(json::parse(lines[6])["seq"], 7);
  EXPECT_EQ(json::parse(lines[7])["seq"], 8);
  EXPECT_EQ(json::parse(lines[8])["seq"], 9);
}

}  // namespace
}  // namespace flatwall::cli
