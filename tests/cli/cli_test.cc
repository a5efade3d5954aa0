// The `flatwall` subcommands, called in-process with their real arguments and checked on
// their output and exit codes; `compile` against golden files (regenerate them with
// FLATWALL_UPDATE_GOLDEN=1 after an intended change, and review the diff).
#include <sys/vfs.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/cli/commands.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace flatwall::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSourceDir = FLATWALL_SOURCE_DIR;
const std::string kExamples = kSourceDir + "/examples/policies/00-shop";
const std::string kCluster = kExamples + "/00-cluster.yaml";
const std::string kInvalid = kSourceDir + "/tests/testdata/cli/invalid-policy.yaml";

struct Output {
  int exit_code;
  std::string out;
  std::string err;
};

using Command = int (*)(const std::vector<std::string>&, std::ostream&, std::ostream&);

Output RunCommand(Command command, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = command(args, out, err);
  return {code, out.str(), err.str()};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void ExpectGolden(const std::string& actual, const std::string& golden_name) {
  std::string path = kSourceDir + "/tests/testdata/golden/" + golden_name;
  if (std::getenv("FLATWALL_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << actual;
    return;
  }
  EXPECT_EQ(actual, ReadFile(path)) << "golden file " << path
                                    << " differs; FLATWALL_UPDATE_GOLDEN=1 rewrites it";
}

TEST(ValidateCommandTest, AcceptsTheExamples) {
  Output result = RunCommand(RunValidate, {kExamples});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr("ok: 6 file(s) valid"));
}

TEST(ValidateCommandTest, ListsEveryErrorWithFileLineAndFieldAndFails) {
  Output result = RunCommand(RunValidate, {kInvalid});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.out, HasSubstr("invalid-policy.yaml:20: spec.ingress[0].ports[0].endPort"));
  EXPECT_THAT(result.out, HasSubstr("invalid-policy.yaml:21: spec.ingress[0].ports[1].protocol"));
  EXPECT_THAT(result.out, HasSubstr("2 error(s) in 1 file(s)"));
}

TEST(ValidateCommandTest, MissingFileIsReported) {
  Output result = RunCommand(RunValidate, {kSourceDir + "/no-such-file.yaml"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("no-such-file.yaml: no such file or directory"));
}

TEST(CompileCommandTest, TextOutputMatchesGoldenPerNode) {
  for (const std::string node : {"node-1", "node-2"}) {
    SCOPED_TRACE(node);
    Output result = RunCommand(RunCompile, {"--node", node, kExamples});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    ExpectGolden(result.out, "compile-examples-" + node + ".txt");
  }
}

TEST(CompileCommandTest, JsonOutputMatchesGolden) {
  Output result = RunCommand(RunCompile, {"--node", "node-1", "-o", "json", kExamples});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  ExpectGolden(result.out, "compile-examples-node-1.json");
  nlohmann::json image = nlohmann::json::parse(result.out);
  EXPECT_EQ(image["endpoints"].size(), 2u);  // frontend and backend run on node-1
}

TEST(CompileCommandTest, RequiresNode) {
  EXPECT_EQ(RunCommand(RunCompile, {kExamples}).exit_code, 2);
}

TEST(MatrixCommandTest, JsonListsEveryPairWithTheDocumentedShape) {
  Output result = RunCommand(RunMatrix, {"--port", "5432", "-o", "json", kExamples});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  nlohmann::json cells = nlohmann::json::parse(result.out);
  ASSERT_EQ(cells.size(), 25u);  // five pods
  for (const auto& cell : cells) {
    EXPECT_EQ(cell["port"], 5432);
    EXPECT_EQ(cell["protocol"], "TCP");
    bool expected = cell["from"] == cell["to"] ||
                    (cell["from"] == "shop/backend" && cell["to"] == "shop/db");
    // The database accepts only the api tier; everything else in shop is denied by default
    // or its egress; other namespaces are not isolated but the shop pods are.
    if (cell["to"] == "shop/db" || cell["from"] == "shop/backend") {
      EXPECT_EQ(cell["allowed"], expected) << cell.dump();
    }
  }
}

TEST(MatrixCommandTest, WithoutPoliciesEverythingIsReachable) {
  Output result = RunCommand(RunMatrix, {"--port", "8080", kCluster});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("reachability on TCP/8080"));
  EXPECT_THAT(result.out.substr(result.out.find('\n')), Not(HasSubstr("X")));
}

TEST(MatrixCommandTest, RejectsBadOptions) {
  EXPECT_EQ(RunCommand(RunMatrix, {"--port", "0", kExamples}).exit_code, 2);
  EXPECT_EQ(RunCommand(RunMatrix, {"--protocol", "ICMP", kExamples}).exit_code, 2);
  EXPECT_EQ(RunCommand(RunMatrix, {"--colour", "red", kExamples}).exit_code, 2);
  EXPECT_EQ(RunCommand(RunMatrix, {}).exit_code, 2);
}

TEST(ExplainCommandTest, DeniedFlowNamesTheIsolatingPolicies) {
  Output result = RunCommand(RunExplain, {"--from", "shop/frontend", "--to", "shop/db", "--port",
                                   "5432", kExamples});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.out, HasSubstr("DENIED"));
  EXPECT_THAT(result.out, HasSubstr("isolated by: shop/allow-dns, shop/default-deny-all, "
                                     "shop/frontend-to-backend"));
  EXPECT_THAT(result.out, HasSubstr("no egress rule of the isolating policies allows it"));
}

TEST(ExplainCommandTest, AllowedFlowNamesTheDecidingRules) {
  Output result = RunCommand(RunExplain, {"--from", "shop/backend", "--to", "shop/db", "--port",
                                   "5432", "-o", "json", kExamples});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  nlohmann::json answer = nlohmann::json::parse(result.out);
  EXPECT_TRUE(answer["allowed"]);
  EXPECT_EQ(answer["egress"]["rule"], "shop/backend-from-frontend egress[0]");
  EXPECT_EQ(answer["ingress"]["rule"], "shop/db-from-backend ingress[0]");
}

TEST(ExplainCommandTest, ExternalDestinationIsJudgedByIpBlock) {
  Output allowed = RunCommand(RunExplain, {"--from", "shop/backend", "--to", "10.10.7.9", "--port",
                                    "443", kExamples});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.out;
  EXPECT_THAT(allowed.out, HasSubstr("allowed by shop/backend-egress-vpc egress[0]"));
  Output excepted = RunCommand(RunExplain, {"--from", "shop/backend", "--to", "10.10.200.9", "--port",
                                     "443", kExamples});
  EXPECT_EQ(excepted.exit_code, 1) << excepted.out;
}

TEST(ExplainCommandTest, UnknownPodIsAUsageError) {
  Output result = RunCommand(RunExplain, {"--from", "shop/nobody", "--to", "shop/db", "--port", "1",
                                   kExamples});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.err, HasSubstr("no pod shop/nobody"));
}

// `explain --node` checks its input before it touches a node: these need no root.
TEST(ExplainNodeCommandTest, BadInputIsRejectedNamingWhatIsMissing) {
  char log_template[] = "/tmp/fwt-explain-log-XXXXXX";
  const int log_fd = mkstemp(log_template);
  ASSERT_GE(log_fd, 0);
  close(log_fd);
  const std::string empty_log = log_template;
  std::ofstream(empty_log) << R"({"seq":1,"reason":"STARTUP"})" << "\n";
  const std::vector<std::string> flow = {"--from", "10.0.0.1", "--to", "10.0.0.2", "--port", "80"};
  auto with_flow = [&flow](std::vector<std::string> args) {
    args.insert(args.end(), flow.begin(), flow.end());
    return args;
  };
  const struct {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  } kCases[] = {
      {with_flow({"--node", "--datapath", "bpf"}), 2, "drop --datapath"},
      {with_flow({"--recent", "3", kExamples}), 2, "--recent needs --node"},
      {with_flow({"--node", "--recent", "many"}), 2, "--recent must be a number"},
      {with_flow({"--node", "--verdict-log", "/nonexistent/verdicts.jsonl"}), 1,
       "/nonexistent/verdicts.jsonl: cannot read"},
      {{"--node", "--from", "shop/nobody", "--to", "shop/db", "--port", "80", kExamples}, 2,
       "no pod shop/nobody in the files"},
      {{"--node", "--verdict-log", empty_log, "--from", "x/a", "--to", "10.0.0.2", "--port", "80"},
       2, "no pod x/a in the verdict log records"},
      {{"--node", "--from", "x/a", "--to", "10.0.0.2", "--port", "80"}, 2,
       "no pod x/a: name pods with the manifests"},
      {with_flow({"--node", "--bpffs-root", "/nonexistent/flatwall"}), 1,
       "no Flatwall maps pinned under /nonexistent/flatwall"},
  };
  for (const auto& test : kCases) {
    SCOPED_TRACE(::testing::PrintToString(test.args));
    Output result = RunCommand(RunExplain, test.args);
    EXPECT_EQ(result.exit_code, test.exit_code) << result.err;
    EXPECT_THAT(result.err, HasSubstr(test.message));
    EXPECT_EQ(result.out, "");
  }
  std::filesystem::remove(empty_log);
}

// --datapath bpf loads the real programs: root and bpffs at /sys/fs/bpf are needed.
// Skips the calling test without them; the caller returns when IsSkipped().
void SkipUnlessBpfRuns() {
  if (geteuid() != 0) GTEST_SKIP() << "--datapath bpf needs root";
  struct statfs fs;
  constexpr long kBpfFsMagic = 0xcafe4a11;
  if (statfs("/sys/fs/bpf", &fs) != 0 || fs.f_type != kBpfFsMagic) {
    GTEST_SKIP() << "/sys/fs/bpf is not a bpffs mount";
  }
}

// Pin roots of this process's --datapath bpf runs still present.
std::vector<std::string> LeftoverPinRoots() {
  const std::string prefix = "flatwall-cli-" + std::to_string(getpid()) + "-";
  std::vector<std::string> leftovers;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/fs/bpf", error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) leftovers.push_back(name);
  }
  return leftovers;
}

TEST(DatapathOptionTest, UnknownDatapathIsAUsageError) {
  Output matrix = RunCommand(RunMatrix, {"--datapath", "xdp", kExamples});
  EXPECT_EQ(matrix.exit_code, 2);
  EXPECT_THAT(matrix.err, HasSubstr("--datapath must be model or bpf"));
  Output explain = RunCommand(RunExplain, {"--from", "shop/backend", "--to", "shop/db", "--port",
                                           "5432", "--datapath", "xdp", kExamples});
  EXPECT_EQ(explain.exit_code, 2);
}

TEST(DatapathOptionTest, BpfMatrixEqualsModelMatrixAndLeavesNoPins) {
  SkipUnlessBpfRuns();
  if (::testing::Test::IsSkipped()) return;
  for (const auto& [protocol, port] : std::vector<std::pair<std::string, std::string>>{
           {"TCP", "8080"}, {"TCP", "5432"}, {"UDP", "53"}}) {
    SCOPED_TRACE(protocol + "/" + port);
    Output model = RunCommand(RunMatrix, {"--port", port, "--protocol", protocol, "-o", "json",
                                          "--datapath", "model", kExamples});
    Output bpf = RunCommand(RunMatrix, {"--port", port, "--protocol", protocol, "-o", "json",
                                        "--datapath", "bpf", kExamples});
    ASSERT_EQ(model.exit_code, 0) << model.err;
    ASSERT_EQ(bpf.exit_code, 0) << bpf.err;
    EXPECT_EQ(nlohmann::json::parse(bpf.out), nlohmann::json::parse(model.out));
  }
  // The text grid has the same shape too.
  EXPECT_EQ(RunCommand(RunMatrix, {"--port", "5432", "--datapath", "bpf", kExamples}).out,
            RunCommand(RunMatrix, {"--port", "5432", kExamples}).out);
  EXPECT_THAT(LeftoverPinRoots(), ::testing::IsEmpty());
}

TEST(DatapathOptionTest, BpfExplainAgreesWithModelOnAllowedAndDeniedFlows) {
  SkipUnlessBpfRuns();
  if (::testing::Test::IsSkipped()) return;
  struct Case {
    std::string from, to, port;
    int exit_code;
  };
  for (const Case& flow : {Case{"shop/backend", "shop/db", "5432", 0},
                           Case{"shop/frontend", "shop/db", "5432", 1},
                           Case{"shop/backend", "10.10.200.9", "443", 1}}) {
    for (const std::string format : {"text", "json"}) {
      SCOPED_TRACE(flow.from + " -> " + flow.to + ":" + flow.port + " " + format);
      const std::vector<std::string> args = {"--from", flow.from, "--to", flow.to, "--port",
                                             flow.port, "-o", format, kExamples};
      std::vector<std::string> bpf_args = args;
      bpf_args.insert(bpf_args.begin(), {"--datapath", "bpf"});
      Output model = RunCommand(RunExplain, args);
      Output bpf = RunCommand(RunExplain, bpf_args);
      EXPECT_EQ(model.exit_code, flow.exit_code) << model.err;
      EXPECT_EQ(bpf.exit_code, flow.exit_code) << bpf.err;
      EXPECT_EQ(bpf.out, model.out);
    }
  }
  EXPECT_THAT(LeftoverPinRoots(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace flatwall::cli
