#include "policy-compiler/internal/stable_hash.h"

namespace flatwall::compiler::internal {

uint64_t MixBits(uint64_t value) {
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ull;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebull;
  value ^= value >> 31;
  return value;
}

StableHasher& StableHasher::AddBytes(const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  // Whole 8-byte little-endian words through MixBits, then the tail byte by byte (FNV-1a):
  // rulesets hash hundreds of kilobytes, and a byte loop would dominate their cost.
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word = 0;
    for (int b = 0; b < 8; ++b) word |= static_cast<uint64_t>(bytes[i + b]) << (8 * b);
    state_ = MixBits(state_ ^ word);
  }
  for (; i < size; ++i) {
    state_ ^= bytes[i];
    state_ *= 0x100000001b3ull;  // the FNV-1a 64-bit prime
  }
  return *this;
}

StableHasher& StableHasher::AddInt(uint64_t value) {
  // Explicit little-endian bytes, so the hash does not depend on the host's byte order.
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
  return AddBytes(bytes, sizeof(bytes));
}

StableHasher& StableHasher::AddString(absl::string_view text) {
  AddInt(text.size());
  return AddBytes(text.data(), text.size());
}

StableHasher& StableHasher::AddLabels(const LabelSet& labels) {
  AddInt(labels.size());
  for (const auto& [key, value] : labels) {
    AddString(key);
    AddString(value);
  }
  return *this;
}

}  // namespace flatwall::compiler::internal
