#include "tests/examples/example_catalog.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "yaml-cpp/yaml.h"

namespace flatwall::examples {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<ExpectedCell> CellFromYaml(const YAML::Node& node) {
  if (!node.IsMap()) return absl::InvalidArgumentError("not a mapping");
  for (const char* key : {"from", "to", "port", "protocol", "allowed"}) {
    if (!node[key]) return absl::InvalidArgumentError(absl::StrCat("no ", key));
  }
  ExpectedCell cell;
  cell.from = node["from"].as<std::string>();
  cell.to = node["to"].as<std::string>();
  int port = node["port"].as<int>();
  if (port < 1 || port > 65535) return absl::InvalidArgumentError("port out of range");
  cell.port = static_cast<uint16_t>(port);
  std::optional<compiler::Protocol> protocol =
      compiler::ParseProtocolName(node["protocol"].as<std::string>());
  if (!protocol) return absl::InvalidArgumentError("protocol is not TCP, UDP or SCTP");
  cell.protocol = *protocol;
  cell.allowed = node["allowed"].as<bool>();
  return cell;
}

// The text between the first pair of backquotes of a table entry.
absl::StatusOr<std::string> Quoted(absl::string_view entry) {
  entry = absl::StripAsciiWhitespace(entry);
  if (entry.size() < 2 || entry.front() != '`' || entry.back() != '`') {
    return absl::InvalidArgumentError(absl::StrCat("not in backquotes: ", std::string(entry)));
  }
  return std::string(entry.substr(1, entry.size() - 2));
}

}  // namespace

std::string ExpectedCell::ToString() const {
  return absl::StrCat(from, " -> ", to, " ", std::string(compiler::ProtocolName(protocol)), "/",
                      port, allowed ? " (allowed)" : " (denied)");
}

bool IsPod(const std::string& end) { return end.find('/') != std::string::npos; }

fs::path ExamplesDir() { return fs::path(FLATWALL_SOURCE_DIR) / "examples/policies"; }

std::vector<std::string> ExampleNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(ExamplesDir())) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string TestNameOf(const std::string& example) {
  std::string name = example;
  for (char& c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

absl::StatusOr<std::vector<ExpectedCell>> ReadExpectedCells(const fs::path& file) {
  if (!fs::exists(file)) return absl::NotFoundError(absl::StrCat(file.string(), ": missing"));
  std::vector<ExpectedCell> cells;
  try {
    YAML::Node root = YAML::LoadFile(file.string());
    if (!root.IsMap() || !root["cells"] || !root["cells"].IsSequence()) {
      return absl::InvalidArgumentError(absl::StrCat(file.string(), ": no `cells:` list"));
    }
    for (size_t index = 0; index < root["cells"].size(); ++index) {
      absl::StatusOr<ExpectedCell> cell = CellFromYaml(root["cells"][index]);
      if (!cell.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(file.string(), ": cells[", index, "]: ", cell.status().message()));
      }
      cells.push_back(*std::move(cell));
    }
  } catch (const YAML::Exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(file.string(), ": ", error.what()));
  }
  return cells;
}

absl::StatusOr<std::vector<ReadmeRow>> ReadmeTable(const std::string& readme) {
  std::vector<ReadmeRow> rows;
  bool in_table = false;
  for (absl::string_view line : absl::StrSplit(readme, '\n')) {
    if (absl::StartsWith(line, "| directory |")) {
      in_table = true;
      continue;
    }
    if (!in_table || absl::StartsWith(line, "| ---")) continue;
    if (!absl::StartsWith(line, "|")) break;
    std::vector<absl::string_view> entries = absl::StrSplit(line, '|');
    // "| a | b | c | d |" splits into an empty entry at each end and the four between.
    if (entries.size() != 6) {
      return absl::InvalidArgumentError(absl::StrCat("not four columns: ", std::string(line)));
    }
    ReadmeRow row;
    absl::StatusOr<std::string> directory = Quoted(entries[1]);
    absl::StatusOr<std::string> command = Quoted(entries[4]);
    if (!directory.ok()) return directory.status();
    if (!command.ok()) return command.status();
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(entries[3]), &row.cells)) {
      return absl::InvalidArgumentError(absl::StrCat("cells not a number: ", std::string(line)));
    }
    row.directory = *directory;
    row.command = *command;
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::string> ReadmeCommands(const std::string& readme) {
  std::vector<std::string> commands;
  bool in_block = false;
  for (absl::string_view line : absl::StrSplit(readme, '\n')) {
    if (absl::StartsWith(line, "```")) {
      in_block = !in_block && line == "```sh";
      continue;
    }
    if (in_block && !absl::StripAsciiWhitespace(line).empty()) commands.emplace_back(line);
  }
  absl::StatusOr<std::vector<ReadmeRow>> rows = ReadmeTable(readme);
  if (rows.ok()) {
    for (const ReadmeRow& row : *rows) commands.push_back(row.command);
  }
  return commands;
}

}  // namespace flatwall::examples
