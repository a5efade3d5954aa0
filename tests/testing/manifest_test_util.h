// Helpers for tests of the manifest decoder: reading test data, picking objects of one kind
// out of a DecodeResult, and printing errors in assertion messages.
//
// Not here: building model objects directly (model_builders.h).
#ifndef FLATWALL_TESTS_TESTING_MANIFEST_TEST_UTIL_H_
#define FLATWALL_TESTS_TESTING_MANIFEST_TEST_UTIL_H_

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "policy-compiler/manifest_decoder.h"
#include "policy-compiler/model.h"

namespace flatwall::testing {

// The source tree, as the build saw it.
inline std::filesystem::path SourceDir() { return FLATWALL_SOURCE_DIR; }

// The bytes of `path`; empty when it cannot be read (the test then fails on content).
inline std::string ReadFileOrEmpty(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// Regular files directly under `dir`, sorted; empty when `dir` does not exist.
inline std::vector<std::filesystem::path> FilesIn(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// One error per line, as DecodeError::ToString prints them.
inline std::string ErrorsText(const compiler::DecodeResult& result) {
  std::string text;
  for (const compiler::DecodeError& error : result.errors) text += error.ToString() + "\n";
  return text;
}

template <typename T>
std::vector<T> ObjectsOf(const compiler::DecodeResult& result) {
  std::vector<T> objects;
  for (const compiler::ClusterObject& object : result.objects) {
    if (const T* typed = std::get_if<T>(&object)) objects.push_back(*typed);
  }
  return objects;
}

// `object` with its source location cleared, to compare objects decoded from different
// files or formats.
inline compiler::ClusterObject WithoutSource(compiler::ClusterObject object) {
  std::visit([](auto& typed) { typed.source = {}; }, object);
  return object;
}

}  // namespace flatwall::testing

#endif  // FLATWALL_TESTS_TESTING_MANIFEST_TEST_UTIL_H_
