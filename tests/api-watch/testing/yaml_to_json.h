// Kubernetes manifests (multi-document YAML, as in examples/policies/) turned into the JSON
// objects kubectl would send to the API server, so that tests can feed the project's
// manifests to the fake API (fake_kube_api.h). Scalars are typed the way kubectl's YAML
// reader types them (policy-compiler's rules: `80` is a number, `"80"` a string).
//
// Not here: Kubernetes semantics or validation (the API decoders do that).
#ifndef FLATWALL_TESTS_API_WATCH_TESTING_YAML_TO_JSON_H_
#define FLATWALL_TESTS_API_WATCH_TESTING_YAML_TO_JSON_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace flatwall::apiwatch::testing {

// Every non-empty document of `yaml_text`, in order. InvalidArgument naming the line of
// the first syntax error, or a document that is not a mapping.
absl::StatusOr<std::vector<nlohmann::json>> ManifestsToJson(std::string_view yaml_text);

}  // namespace flatwall::apiwatch::testing

#endif  // FLATWALL_TESTS_API_WATCH_TESTING_YAML_TO_JSON_H_
