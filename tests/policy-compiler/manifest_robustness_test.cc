// Hostile and broken input: the decoder must never throw or crash, must bound its work,
// and must always account for what it read (objects or errors). Well-formed decoding:
// manifest_decoder_test.cc.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy-compiler/manifest_decoder.h"
#include "tests/testing/manifest_test_util.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::ErrorsText;
using ::flatwall::testing::FilesIn;
using ::flatwall::testing::ObjectsOf;
using ::flatwall::testing::ReadFileOrEmpty;
using ::flatwall::testing::SourceDir;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

int CountLines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n')) +
         (!text.empty() && text.back() != '\n' ? 1 : 0);
}

// True when `text` has a line that is not blank, a comment or a document marker, i.e.
// something the decoder must account for.
bool HasContent(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = std::min(text.find('\n', start), text.size());
    std::string line = text.substr(start, end - start);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos && line[first] != '#' && line.rfind("---", 0) != 0 &&
        line.rfind("...", 0) != 0 && line.rfind("\xEF\xBB\xBF", 0) != 0) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// Aliases shaped like a List of Pods, so that reading what the decoder reads visits
// fan_out^3 port entries while the text grows only linearly with fan_out.
std::string AliasBomb(int fan_out) {
  auto repeat = [fan_out](const std::string& alias) {
    std::string list = "[" + alias;
    for (int i = 1; i < fan_out; ++i) list += ", " + alias;
    return list + "]";
  };
  return "port: &port {containerPort: 80}\n"
         "ports: &ports " +
         repeat("*port") +
         "\n"
         "container: &container {name: c, ports: *ports}\n"
         "containers: &containers " +
         repeat("*container") +
         "\n"
         "pod: &pod {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: "
         "*containers}}\n"
         "apiVersion: v1\n"
         "kind: List\n"
         "items: " +
         repeat("*pod") + "\n";
}

// The invariants every decode must keep, whatever the input.
void ExpectWellFormed(const std::string& text, const DecodeResult& result) {
  int lines = CountLines(text);
  for (const DecodeError& error : result.errors) {
    EXPECT_EQ(error.location.file, "input.yaml");
    EXPECT_GE(error.location.line, 1) << error.ToString();
    EXPECT_LE(error.location.line, lines + 1) << error.ToString();
    EXPECT_FALSE(error.message.empty());
  }
  for (const ClusterObject& object : result.objects) {
    std::visit(
        [lines](const auto& typed) {
          EXPECT_GE(typed.source.line, 1);
          EXPECT_LE(typed.source.line, lines);
        },
        object);
  }
}

std::vector<std::filesystem::path> ManifestFiles() {
  std::vector<std::filesystem::path> files = FilesIn(SourceDir() / "tests/testdata/manifests");
  for (const auto& path : FilesIn(SourceDir() / "examples/policies/00-shop")) {
    files.push_back(path);
  }
  return files;
}

TEST(ManifestRobustnessTest, TruncatedManifestsNeverCrashAndAccountForTheirContent) {
  std::vector<std::filesystem::path> files = ManifestFiles();
  ASSERT_GE(files.size(), 6u) << "test data missing";
  for (const std::filesystem::path& path : files) {
    SCOPED_TRACE(path.string());
    std::string text = ReadFileOrEmpty(path);
    DecodeResult full = DecodeManifest("input.yaml", text);

    std::vector<size_t> cuts;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') cuts.push_back(i + 1);
    }
    for (size_t i = 1; i <= 7; ++i) cuts.push_back(text.size() * i / 8);  // mid-line cuts
    cuts.push_back(1);
    for (size_t cut : cuts) {
      std::string prefix = text.substr(0, cut);
      SCOPED_TRACE("cut at byte " + std::to_string(cut));
      DecodeResult result = DecodeManifest("input.yaml", prefix);
      ExpectWellFormed(prefix, result);
      if (HasContent(prefix)) {
        EXPECT_FALSE(result.objects.empty() && result.errors.empty())
            << "content read but neither objects nor errors";
      }
      // Cut just before a `---` line: every earlier document is whole, so the result is
      // exactly the full result's part before the cut.
      if (text.compare(cut, 4, "---\n") == 0) {
        int boundary = CountLines(prefix) + 1;
        std::vector<ClusterObject> want_objects;
        for (const ClusterObject& object : full.objects) {
          int line = std::visit([](const auto& typed) { return typed.source.line; }, object);
          if (line < boundary) want_objects.push_back(object);
        }
        std::vector<DecodeError> want_errors;
        for (const DecodeError& error : full.errors) {
          if (error.location.line < boundary) want_errors.push_back(error);
        }
        EXPECT_EQ(result.objects, want_objects);
        EXPECT_EQ(result.errors, want_errors) << ErrorsText(result);
      }
    }
  }
}

TEST(ManifestRobustnessTest, MutatedManifestsNeverCrash) {
  std::mt19937 random(20240502);  // fixed seed: the same mutants on every run
  const std::string kInteresting = "-:{}[]&*!|>'\"#%@`,?\t\n\\\x00\xff";
  for (const std::filesystem::path& path : ManifestFiles()) {
    SCOPED_TRACE(path.string());
    std::string text = ReadFileOrEmpty(path);
    ASSERT_FALSE(text.empty());
    for (int mutant = 0; mutant < 60; ++mutant) {
      std::string mutated = text;
      for (int edit = 0; edit < 1 + mutant % 4; ++edit) {
        size_t at = random() % mutated.size();
        char c = kInteresting[random() % kInteresting.size()];
        switch (random() % 3) {
          case 0:
            mutated[at] = c;
            break;
          case 1:
            mutated.insert(mutated.begin() + at, c);
            break;
          default:
            mutated.erase(at, 1 + random() % 8);
            break;
        }
        if (mutated.empty()) mutated = "x";
      }
      DecodeResult result = DecodeManifest("input.yaml", mutated);
      ExpectWellFormed(mutated, result);
      if (HasContent(mutated)) {
        EXPECT_FALSE(result.objects.empty() && result.errors.empty());
      }
    }
  }
}

TEST(ManifestRobustnessTest, HostileInputsGiveErrorsNotCrashes) {
  std::mt19937 random(7);
  std::string garbage(4096, '\0');
  for (char& c : garbage) c = static_cast<char>(random());
  std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 12; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int j = 0; j < 9; ++j) laughs += ", " + prev;
    laughs += "]\n";
  }
  std::string deep_block;
  for (int i = 0; i < 3000; ++i) deep_block += std::string(2 * i, ' ') + "- \n";

  struct Case {
    std::string name;
    std::string text;
    std::string error_substring;  // expected in some error
  };
  const std::vector<Case> cases = {
      {"random bytes", garbage, ""},
      {"NUL bytes", std::string(100, '\0'), ""},
      {"deep flow sequence", std::string(100000, '['), "YAML syntax error"},
      {"deep flow map", std::string(100000, '{'), "YAML syntax error"},
      {"deep JSON that nlohmann could read", std::string(100000, '[') + std::string(100000, ']'),
       "YAML syntax error"},
      {"deep block sequence", deep_block, ""},
      {"nested value inside a policy",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
       "spec:\n  podSelector:\n    matchLabels: " +
           std::string(100, '[') + std::string(100, ']') + "\n",
       "must be a map, got a list"},
      {"deep value inside a policy",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
       "spec:\n  podSelector:\n    matchLabels: " +
           std::string(1000, '[') + std::string(1000, ']') + "\n",
       "YAML syntax error: nested too deeply"},
      {"billion laughs", laughs + "apiVersion: v1\nkind: List\nitems: *a11\n",
       "must be a map (an object with apiVersion and kind), got a list"},
      {"aliases shaped like the schema", AliasBomb(1000), "document refused"},
      {"List that contains itself", "&a {apiVersion: v1, kind: List, items: [*a]}",
       "a list inside a List is not supported"},
      {"policy spec that contains itself",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
       "spec: &s {podSelector: {}, ingress: [{from: *s}]}\n",
       "must be a list, got a map"},
      {"huge numbers",
       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
       "metadata: {name: p, generation: 1e400}\nspec:\n  podSelector: {}\n"
       "  ingress: [{ports: [{port: -99999999999999999999999999, endPort: 1e9999}]}]\n",
       "out of range"},
      {"duplicate kind", "apiVersion: v1\nkind: Namespace\nkind: Pod\nmetadata: {name: a}\n",
       "duplicate field"},
      {"invalid UTF-8 in a label",
       "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels: {x: \"\xc3\x28\"}\n",
       "invalid value"},
      {"a megabyte value",
       "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + std::string(1 << 20, 'a') + "\n",
       "must be no more than 63 characters"},
      {"only markers", std::string(3000, '-'), ""},
      {"lone surrogate in JSON",
       R"({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "\ud800"}})",
       "YAML syntax error"},
      // yaml-cpp 0.7 alone loops forever on these.
      {"comma after a top-level flow map",
       "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}},\n",
       "YAML syntax error: the parser stopped making progress here"},
      {"comma after a top-level flow list", "[a],", "YAML syntax error"},
      {"truncated JSON", R"({"apiVersion": "v1", "kind": )", "YAML syntax error"},
      {"tab indentation", "apiVersion: v1\nkind: Namespace\nmetadata:\n\tname: a\n",
       "YAML syntax error"},
      {"unknown tag", "!!binary apiVersion: v1\n", ""},
      {"key that is a map", "{? {a: 1} : x, apiVersion: v1, kind: Namespace}\n",
       "a key must be a string, got a map"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    DecodeResult result = DecodeManifest("input.yaml", c.text);
    ExpectWellFormed(c.text, result);
    EXPECT_THAT(result.objects, IsEmpty());
    ASSERT_THAT(result.errors, ::testing::Not(IsEmpty()));
    if (!c.error_substring.empty()) {
      EXPECT_THAT(ErrorsText(result), HasSubstr(c.error_substring));
    }
  }
}

TEST(ManifestRobustnessTest, AliasesWithinBudgetDecodeNormally) {
  DecodeResult result = DecodeManifest("input.yaml", R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p}
spec:
  podSelector: &web {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: *web}]
    ports: &http [{port: 80}, {port: 8080}]
  egress:
  - to: [{podSelector: *web}]
    ports: *http
)");
  ASSERT_THAT(result.errors, IsEmpty()) << ErrorsText(result);
  std::vector<NetworkPolicy> policies = ObjectsOf<NetworkPolicy>(result);
  ASSERT_THAT(policies, SizeIs(1));
  EXPECT_EQ(policies[0].ingress[0].ports, policies[0].egress[0].ports);
  EXPECT_EQ(*policies[0].egress[0].peers[0].pod_selector, policies[0].pod_selector);
}

TEST(ManifestRobustnessTest, RefusedDocumentDoesNotCostTheOthers) {
  DecodeResult result = DecodeManifest(
      "input.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n" + AliasBomb(300) +
                        "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n");
  EXPECT_THAT(ObjectsOf<Namespace>(result), SizeIs(2));
  ASSERT_THAT(result.errors, SizeIs(1)) << ErrorsText(result);
  EXPECT_THAT(result.errors[0].message, HasSubstr("document refused"));
  EXPECT_EQ(result.errors[0].location.line, 5);
}

}  // namespace
}  // namespace flatwall::compiler
