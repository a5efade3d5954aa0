// Test helpers over compiled map images: equality with a readable first difference, and
// applying a MapDiff to an image the way the agent applies it to the kernel maps.
//
// Not here: computing diffs (policy-compiler/map_image.h).
#ifndef FLATWALL_TESTS_TESTING_IMAGE_COMPARE_H_
#define FLATWALL_TESTS_TESTING_IMAGE_COMPARE_H_

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "policy-compiler/map_image.h"

namespace flatwall::testing {

namespace image_compare_internal {

template <typename Entry>
::testing::AssertionResult SameTable(const char* name, const std::vector<Entry>& a,
                                     const std::vector<Entry>& b) {
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (!compiler::AbiEqual(a[i].key, b[i].key) || !compiler::AbiEqual(a[i].value, b[i].value)) {
      return ::testing::AssertionFailure() << name << " differ at entry " << i;
    }
  }
  if (a.size() != b.size()) {
    return ::testing::AssertionFailure()
           << name << " sizes differ: " << a.size() << " vs " << b.size();
  }
  return ::testing::AssertionSuccess();
}

template <typename Row, typename Same>
::testing::AssertionResult SameRows(const char* name, const std::vector<Row>& a,
                                    const std::vector<Row>& b, Same same) {
  if (a.size() != b.size()) {
    return ::testing::AssertionFailure()
           << name << " sizes differ: " << a.size() << " vs " << b.size();
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (!same(a[i], b[i])) return ::testing::AssertionFailure() << name << " differ at row " << i;
  }
  return ::testing::AssertionSuccess();
}

template <typename Entry>
void ApplyChanges(const compiler::MapChanges<Entry>& changes, std::vector<Entry>* table) {
  auto less = [](const Entry& a, const Entry& b) { return compiler::AbiLess(a.key, b.key); };
  for (const auto& key : changes.deletes) {
    Entry probe{};
    probe.key = key;
    auto it = std::lower_bound(table->begin(), table->end(), probe, less);
    if (it != table->end() && compiler::AbiEqual(it->key, key)) table->erase(it);
  }
  for (const Entry& entry : changes.upserts) {
    auto it = std::lower_bound(table->begin(), table->end(), entry, less);
    if (it != table->end() && compiler::AbiEqual(it->key, entry.key)) {
      *it = entry;
    } else {
      table->insert(it, entry);
    }
  }
}

}  // namespace image_compare_internal

// Byte-identical datapath tables and equal info tables.
inline ::testing::AssertionResult SameImage(const compiler::MapImage& a,
                                            const compiler::MapImage& b) {
  using namespace image_compare_internal;  // NOLINT: local helpers
  for (auto result : {SameTable("endpoints", a.endpoints, b.endpoints),
                      SameTable("ipcache", a.ipcache, b.ipcache),
                      SameTable("cidrs", a.cidrs, b.cidrs), SameTable("rules", a.rules, b.rules)}) {
    if (!result) return result;
  }
  auto rule_same = [](const compiler::RuleInfo& x, const compiler::RuleInfo& y) {
    return x.rule_id == y.rule_id && x.policy_namespace == y.policy_namespace &&
           x.policy_name == y.policy_name && x.policy_uid == y.policy_uid &&
           x.policy_generation == y.policy_generation && x.direction == y.direction &&
           x.rule_index == y.rule_index;
  };
  auto identity_same = [](const compiler::IdentityInfo& x, const compiler::IdentityInfo& y) {
    return x.identity == y.identity && x.namespace_name == y.namespace_name &&
           x.labels == y.labels && x.namespace_labels == y.namespace_labels;
  };
  auto endpoint_same = [](const compiler::EndpointInfo& x, const compiler::EndpointInfo& y) {
    return x.address == y.address && x.pod_namespace == y.pod_namespace &&
           x.pod_name == y.pod_name && x.pod_uid == y.pod_uid &&
           x.isolating_policies[0] == y.isolating_policies[0] &&
           x.isolating_policies[1] == y.isolating_policies[1];
  };
  auto address_same = [](const compiler::PodAddressInfo& x, const compiler::PodAddressInfo& y) {
    return x.address == y.address && x.pod_namespace == y.pod_namespace &&
           x.pod_name == y.pod_name && x.pod_uid == y.pod_uid && x.node_name == y.node_name;
  };
  auto policy_same = [](const compiler::PolicyInfo& x, const compiler::PolicyInfo& y) {
    return x.policy_namespace == y.policy_namespace && x.policy_name == y.policy_name &&
           x.policy_uid == y.policy_uid && x.policy_generation == y.policy_generation;
  };
  for (auto result : {SameRows("rule_table", a.rule_table, b.rule_table, rule_same),
                      SameRows("identities", a.identities, b.identities, identity_same),
                      SameRows("endpoint_info", a.endpoint_info, b.endpoint_info, endpoint_same),
                      SameRows("pod_addresses", a.pod_addresses, b.pod_addresses, address_same),
                      SameRows("policy_table", a.policy_table, b.policy_table, policy_same)}) {
    if (!result) return result;
  }
  return ::testing::AssertionSuccess();
}

// `image` with `diff` applied to its four datapath tables (info tables untouched).
inline compiler::MapImage ApplyDiff(compiler::MapImage image, const compiler::MapDiff& diff) {
  image_compare_internal::ApplyChanges(diff.rules, &image.rules);
  image_compare_internal::ApplyChanges(diff.cidrs, &image.cidrs);
  image_compare_internal::ApplyChanges(diff.ipcache, &image.ipcache);
  image_compare_internal::ApplyChanges(diff.endpoints, &image.endpoints);
  return image;
}

// Only the four datapath tables of `a` and `b` are compared.
inline ::testing::AssertionResult SameTables(const compiler::MapImage& a,
                                             const compiler::MapImage& b) {
  using namespace image_compare_internal;  // NOLINT: local helpers
  for (auto result : {SameTable("endpoints", a.endpoints, b.endpoints),
                      SameTable("ipcache", a.ipcache, b.ipcache),
                      SameTable("cidrs", a.cidrs, b.cidrs), SameTable("rules", a.rules, b.rules)}) {
    if (!result) return result;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace flatwall::testing

#endif  // FLATWALL_TESTS_TESTING_IMAGE_COMPARE_H_
