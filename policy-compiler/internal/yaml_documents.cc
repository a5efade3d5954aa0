#include "policy-compiler/internal/yaml_documents.h"

#include <exception>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "policy-compiler/internal/json_fallback.h"
#include "yaml-cpp/depthguard.h"
#include "policy-compiler/manifest_decoder.h"
#include "yaml-cpp/eventhandler.h"

namespace flatwall::compiler {

bool IsYamlDocumentStart(std::string_view line) {
  if (line.substr(0, 3) != "---") return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

}  // namespace flatwall::compiler

namespace flatwall::compiler::internal {
namespace {

using ::flatwall::compiler::IsYamlDocumentStart;

// The 0-based index within `text` of its first line with content, or -1.
int FirstContentLine(std::string_view text) {
  int index = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string_view line =
        text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#' && !IsYamlDocumentStart(line)) {
      return index;
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
    ++index;
  }
  return -1;
}

// yaml-cpp 0.7 loops forever on some inputs, e.g. "[a]," or "{a: 1},": the stray ','
// is never consumed and every call yields another empty document. A first pass counts the
// parser's events and gives up once they outnumber what the text could hold.
class EventLimit : public YAML::EventHandler {
 public:
  struct Exceeded {
    YAML::Mark mark;
  };

  explicit EventLimit(size_t text_size) : remaining_(4 * text_size + 64) {}

  void OnDocumentStart(const YAML::Mark& mark) override { Count(mark); }
  void OnDocumentEnd() override { Count(last_mark_); }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Count(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Count(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Count(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Count(mark);
  }
  void OnSequenceEnd() override { Count(last_mark_); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Count(mark);
  }
  void OnMapEnd() override { Count(last_mark_); }

 private:
  void Count(const YAML::Mark& mark) {
    last_mark_ = mark;
    if (remaining_-- == 0) throw Exceeded{mark};
  }

  size_t remaining_;
  YAML::Mark last_mark_ = YAML::Mark::null_mark();
};

void SetError(ParsedChunk::SyntaxError* error, int first_line, const YAML::Mark& mark,
              std::string message) {
  error->line = first_line + (mark.is_null() || mark.line < 0 ? 0 : mark.line) + 1;
  error->message = absl::StrCat("YAML syntax error: ", message);
}

std::optional<std::vector<YAML::Node>> LoadAll(const std::string& text,
                                               ParsedChunk::SyntaxError* error, int first_line) {
  try {
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    EventLimit limit(text.size());
    while (parser.HandleNextDocument(limit)) {
    }
    return YAML::LoadAll(text);
  } catch (const EventLimit::Exceeded& e) {
    SetError(error, first_line, e.mark, "the parser stopped making progress here");
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp 0.7 gives this one the message "bad file".
    SetError(error, first_line, e.mark, "nested too deeply");
  } catch (const YAML::Exception& e) {
    SetError(error, first_line, e.mark, e.msg);
  } catch (const std::exception& e) {
    SetError(error, first_line, YAML::Mark::null_mark(), e.what());
  }
  return std::nullopt;
}

// True when `text` holds YAML directives (%YAML, %TAG) and nothing else but blank lines
// and comments: they belong to the document that the next marker starts.
bool OnlyDirectives(std::string_view text) {
  bool any = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string_view line =
        text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#') {
      if (first != 0 || line[0] != '%') return false;
      any = true;
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return any;
}

}  // namespace

std::vector<DocumentChunk> SplitDocuments(std::string_view contents) {
  std::vector<DocumentChunk> chunks;
  size_t chunk_start = 0;
  int chunk_line = 0;
  size_t line_start = 0;
  int line = 0;
  while (line_start < contents.size()) {
    size_t line_end = contents.find('\n', line_start);
    if (line_end == std::string_view::npos) line_end = contents.size();
    std::string_view text = contents.substr(line_start, line_end - line_start);
    if (line_start > chunk_start && IsYamlDocumentStart(text) &&
        !OnlyDirectives(contents.substr(chunk_start, line_start - chunk_start))) {
      chunks.push_back({contents.substr(chunk_start, line_start - chunk_start), chunk_line});
      chunk_start = line_start;
      chunk_line = line;
    }
    line_start = line_end + 1;
    ++line;
  }
  if (chunk_start < contents.size()) {
    chunks.push_back({contents.substr(chunk_start), chunk_line});
  }
  return chunks;
}

ParsedChunk ParseChunk(const DocumentChunk& chunk) {
  ParsedChunk result;
  int content = FirstContentLine(chunk.text);
  result.content_line = chunk.first_line + (content < 0 ? 0 : content) + 1;

  std::string text(chunk.text);
  ParsedChunk::SyntaxError error;
  if (auto documents = LoadAll(text, &error, chunk.first_line)) {
    result.documents = std::move(*documents);
    return result;
  }
  if (LooksLikeJson(text)) {
    // Same lines, so marks stay right.
    if (std::optional<std::string> rewritten = CombineSurrogatePairs(text)) {
      ParsedChunk::SyntaxError ignored;
      if (auto documents = LoadAll(*rewritten, &ignored, chunk.first_line)) {
        result.documents = std::move(*documents);
        return result;
      }
    }
    if (absl::StatusOr<YAML::Node> root = ParseJsonToYaml(text); root.ok()) {
      result.documents.push_back(*std::move(root));
      return result;
    }
  }
  result.syntax_error = std::move(error);
  return result;
}

}  // namespace flatwall::compiler::internal
