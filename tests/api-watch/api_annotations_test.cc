// The annotations the API decoder keeps: only Flatwall's own
// (policy-compiler/annotations.h). An invalid value does not refuse the object (the API
// server accepted it, and a logging switch must not stop enforcement): it reads as off.
#include <map>
#include <string>
#include <variant>

#include "api-watch/api_object_decoder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy-compiler/annotations.h"
#include "tests/testing/status_matchers.h"

namespace flatwall::apiwatch {
namespace {

using nlohmann::json;

json NamespaceWith(json annotations) {
  return {{"metadata", {{"name", "shop"}, {"uid", "u1"}, {"annotations", std::move(annotations)}}}};
}

TEST(ApiAnnotationsTest, NamespaceKeepsOnlyFlatwallAnnotations) {
  absl::StatusOr<compiler::ClusterObject> decoded = DecodeApiObject(
      ResourceKind::kNamespace,
      NamespaceWith({{"flatwall.io/log-allowed", "true"},
                     {"kubectl.kubernetes.io/last-applied-configuration", std::string(500, 'x')},
                     {"flatwall.io/owner", "team-a"}}));
  FW_ASSERT_OK(decoded);
  const compiler::Namespace& ns = std::get<compiler::Namespace>(*decoded);
  EXPECT_EQ(ns.annotations,
            (std::map<std::string, std::string>{{compiler::kLogAllowedAnnotation, "true"}}));
  EXPECT_TRUE(compiler::LogsAllowedFlows(ns.annotations));
}

TEST(ApiAnnotationsTest, PolicyKeepsOnlyFlatwallAnnotations) {
  const json policy = {
      {"metadata",
       {{"name", "p"},
        {"namespace", "shop"},
        {"annotations",
         {{"flatwall.io/log-allowed", "true"},
          {"kubectl.kubernetes.io/last-applied-configuration", std::string(500, 'x')}}}}},
      {"spec", {{"podSelector", json::object()}}}};
  absl::StatusOr<compiler::ClusterObject> decoded =
      DecodeApiObject(ResourceKind::kNetworkPolicy, policy);
  FW_ASSERT_OK(decoded);
  EXPECT_EQ(std::get<compiler::NetworkPolicy>(*decoded).annotations,
            (std::map<std::string, std::string>{{compiler::kLogAllowedAnnotation, "true"}}));
}

TEST(ApiAnnotationsTest, InvalidLogAllowedValueKeepsTheObjectAndReadsAsOff) {
  const json policy = {{"metadata",
                        {{"name", "p"},
                         {"namespace", "shop"},
                         {"annotations", {{"flatwall.io/log-allowed", "on"}}}}},
                       {"spec", {{"podSelector", json::object()}}}};
  absl::StatusOr<compiler::ClusterObject> decoded_policy =
      DecodeApiObject(ResourceKind::kNetworkPolicy, policy);
  FW_ASSERT_OK(decoded_policy);
  EXPECT_FALSE(compiler::LogsAllowedFlows(
      std::get<compiler::NetworkPolicy>(*decoded_policy).annotations));
  absl::StatusOr<compiler::ClusterObject> decoded_ns = DecodeApiObject(
      ResourceKind::kNamespace, NamespaceWith({{"flatwall.io/log-allowed", "on"}}));
  FW_ASSERT_OK(decoded_ns);
  EXPECT_FALSE(compiler::LogsAllowedFlows(std::get<compiler::Namespace>(*decoded_ns).annotations));
}

}  // namespace
}  // namespace flatwall::apiwatch
