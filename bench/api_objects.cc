#include "bench/api_objects.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace flatwall::bench {
namespace {

using nlohmann::json;

constexpr int kApps = 50;
constexpr int kNodes = 100;
constexpr char kTime[] = "2026-11-20T09:14:07Z";

std::string Uid(int kind, int index) {
  return absl::StrFormat("%08x-%04x-4%03x-8000-%012x", index * 2654435761u, kind, index % 4096,
                         index);
}

json ManagedField(const char* manager, const char* subresource, json fields) {
  json entry = {{"manager", manager},     {"operation", "Update"}, {"apiVersion", "v1"},
                {"time", kTime},          {"fieldsType", "FieldsV1"},
                {"fieldsV1", std::move(fields)}};
  if (subresource[0] != '\0') entry["subresource"] = subresource;
  return entry;
}

json Condition(const char* type) {
  return {{"type", type}, {"status", "True"}, {"lastProbeTime", nullptr},
          {"lastTransitionTime", kTime}};
}

}  // namespace

json ApiNamespace(int index) {
  std::string name = absl::StrCat("ns-", index);
  return {{"kind", "Namespace"},
          {"apiVersion", "v1"},
          {"metadata",
           {{"name", name},
            {"labels",
             {{"kubernetes.io/metadata.name", name},
              {"team", absl::StrCat("team-", index % 20)},
              {"env", index % 3 == 0 ? "prod" : "dev"}}},
            {"managedFields",
             json::array({ManagedField(
                 "kubectl-create", "",
                 {{"f:metadata", {{"f:labels", {{".", json::object()},
                                                {"f:kubernetes.io/metadata.name",
                                                 json::object()}}}}}})})}}},
          {"spec", {{"finalizers", json::array({"kubernetes"})}}},
          {"status", {{"phase", "Active"}}}};
}

json ApiPod(int index, int namespaces, bool unique_label) {
  int app = index % kApps;
  std::string app_name = absl::StrCat("app-", app);
  std::string hash = absl::StrFormat("%09x", app * 7919 + 12345);
  std::string name = absl::StrFormat("%s-%s-%05x", app_name, hash, index);
  std::string ip = absl::StrFormat("10.%d.%d.%d", 64 + index / 65536, (index / 256) % 256,
                                   index % 256);
  std::string node = absl::StrCat("node-", index % kNodes);
  std::string image = absl::StrCat("registry.example.com/shop/", app_name, ":1.", app % 7, ".3");
  json container_fields = {
      {"f:image", json::object()},
      {"f:imagePullPolicy", json::object()},
      {"f:name", json::object()},
      {"f:ports", {{".", json::object()}, {"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}",
                                            json::object()}}},
      {"f:resources", {{".", json::object()}, {"f:requests", json::object()}}}};
  json metadata = {
      {"name", name},
      {"generateName", absl::StrCat(app_name, "-", hash, "-")},
      {"namespace", absl::StrCat("ns-", index % namespaces)},
      {"labels",
       {{"app", app_name}, {"pod-template-hash", hash}, {"tier", app % 3 == 0 ? "web" : "api"},
        {"version", "v1"}}},
      {"annotations", {{"kubectl.kubernetes.io/restartedAt", kTime}}},
      {"ownerReferences",
       json::array({{{"apiVersion", "apps/v1"},
                     {"kind", "ReplicaSet"},
                     {"name", absl::StrCat(app_name, "-", hash)},
                     {"uid", Uid(9, app)},
                     {"controller", true},
                     {"blockOwnerDeletion", true}}})},
      {"managedFields",
       json::array(
           {ManagedField("kube-controller-manager", "",
                         {{"f:metadata",
                           {{"f:generateName", json::object()},
                            {"f:labels", {{".", json::object()}, {"f:app", json::object()}}},
                            {"f:ownerReferences", json::object()}}},
                          {"f:spec", {{"f:containers", {{"k:{\"name\":\"app\"}",
                                                         container_fields}}}}}}),
            ManagedField("kubelet", "status",
                         {{"f:status",
                           {{"f:conditions", json::object()},
                            {"f:containerStatuses", json::object()},
                            {"f:hostIP", json::object()},
                            {"f:phase", json::object()},
                            {"f:podIP", json::object()},
                            {"f:podIPs", json::object()},
                            {"f:startTime", json::object()}}}})})}};
  // As a StatefulSet's pods have: labels no other pod shares (interning's worst case).
  if (unique_label) metadata["labels"]["statefulset.kubernetes.io/pod-name"] = name;
  json container = {
      {"name", "app"},
      {"image", image},
      {"imagePullPolicy", "IfNotPresent"},
      {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}, {"protocol", "TCP"}},
                             {{"name", "metrics"}, {"containerPort", 9090}, {"protocol", "TCP"}}})},
      {"env", json::array({{{"name", "LOG_LEVEL"}, {"value", "info"}},
                           {{"name", "POD_NAME"},
                            {"valueFrom", {{"fieldRef", {{"apiVersion", "v1"},
                                                         {"fieldPath", "metadata.name"}}}}}}})},
      {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}},
                     {"limits", {{"memory", "256Mi"}}}}},
      {"readinessProbe", {{"httpGet", {{"path", "/healthz"}, {"port", 8080}, {"scheme", "HTTP"}}},
                          {"periodSeconds", 10}, {"timeoutSeconds", 1}, {"successThreshold", 1},
                          {"failureThreshold", 3}}},
      {"volumeMounts", json::array({{{"name", "kube-api-access"},
                                     {"readOnly", true},
                                     {"mountPath",
                                      "/var/run/secrets/kubernetes.io/serviceaccount"}}})},
      {"terminationMessagePath", "/dev/termination-log"},
      {"terminationMessagePolicy", "File"}};
  json spec = {
      {"nodeName", node},
      {"containers", json::array({container})},
      {"volumes",
       json::array({{{"name", "kube-api-access"},
                     {"projected",
                      {{"defaultMode", 420},
                       {"sources",
                        json::array({{{"serviceAccountToken",
                                       {{"expirationSeconds", 3607}, {"path", "token"}}}},
                                     {{"configMap",
                                       {{"name", "kube-root-ca.crt"},
                                        {"items", json::array({{{"key", "ca.crt"},
                                                                {"path", "ca.crt"}}})}}}}})}}}}})},
      {"restartPolicy", "Always"},
      {"terminationGracePeriodSeconds", 30},
      {"dnsPolicy", "ClusterFirst"},
      {"serviceAccountName", "default"},
      {"serviceAccount", "default"},
      {"securityContext", json::object()},
      {"schedulerName", "default-scheduler"},
      {"tolerations",
       json::array({{{"key", "node.kubernetes.io/not-ready"}, {"operator", "Exists"},
                     {"effect", "NoExecute"}, {"tolerationSeconds", 300}},
                    {{"key", "node.kubernetes.io/unreachable"}, {"operator", "Exists"},
                     {"effect", "NoExecute"}, {"tolerationSeconds", 300}}})},
      {"priority", 0},
      {"enableServiceLinks", true},
      {"preemptionPolicy", "PreemptLowerPriority"}};
  json status = {
      {"phase", "Running"},
      {"conditions", json::array({Condition("Initialized"), Condition("Ready"),
                                  Condition("ContainersReady"), Condition("PodScheduled")})},
      {"hostIP", absl::StrCat("10.10.0.", index % kNodes)},
      {"podIP", ip},
      {"podIPs", json::array({{{"ip", ip}}})},
      {"startTime", kTime},
      {"containerStatuses",
       json::array({{{"name", "app"},
                     {"state", {{"running", {{"startedAt", kTime}}}}},
                     {"lastState", json::object()},
                     {"ready", true},
                     {"restartCount", 0},
                     {"image", image},
                     {"imageID", absl::StrCat("registry.example.com/shop/", app_name,
                                              "@sha256:", std::string(64, 'a' + app % 6))},
                     {"containerID", absl::StrCat("containerd://", std::string(64, '0' + app % 10))},
                     {"started", true}}})},
      {"qosClass", "Burstable"}};
  return {{"kind", "Pod"},
          {"apiVersion", "v1"},
          {"metadata", std::move(metadata)},
          {"spec", std::move(spec)},
          {"status", std::move(status)}};
}

json ApiNetworkPolicy(int index, int namespaces) {
  std::string name = absl::StrCat("allow-", index);
  json spec = {
      {"podSelector", {{"matchLabels", {{"app", absl::StrCat("app-", index % kApps)}}}}},
      {"policyTypes", json::array({"Ingress", "Egress"})},
      {"ingress",
       json::array({{{"from",
                      json::array({{{"podSelector",
                                     {{"matchLabels",
                                       {{"app", absl::StrCat("app-", (index + 1) % kApps)}}}}}},
                                   {{"namespaceSelector",
                                     {{"matchLabels", {{"team", absl::StrCat("team-", index % 20)}}}}}}})},
                     {"ports", json::array({{{"protocol", "TCP"}, {"port", "http"}},
                                            {{"protocol", "TCP"}, {"port", 9090}}})}}})},
      {"egress",
       json::array({{{"to", json::array({{{"ipBlock",
                                           {{"cidr", absl::StrFormat("172.%d.0.0/16", index % 200 + 16)},
                                            {"except", json::array({absl::StrFormat(
                                                           "172.%d.1.0/24", index % 200 + 16)})}}}}})},
                     {"ports", json::array({{{"protocol", "TCP"}, {"port", 443}}})}}})}};
  json applied = {{"apiVersion", "networking.k8s.io/v1"},
                  {"kind", "NetworkPolicy"},
                  {"metadata", {{"name", name}, {"namespace", absl::StrCat("ns-", index % namespaces)}}},
                  {"spec", spec}};
  return {{"kind", "NetworkPolicy"},
          {"apiVersion", "networking.k8s.io/v1"},
          {"metadata",
           {{"name", name},
            {"namespace", absl::StrCat("ns-", index % namespaces)},
            {"annotations",
             {{"kubectl.kubernetes.io/last-applied-configuration", applied.dump() + "\n"}}},
            {"managedFields",
             json::array({ManagedField("kubectl-client-side-apply", "",
                                       {{"f:metadata", {{"f:annotations", json::object()}}},
                                        {"f:spec", {{"f:egress", json::object()},
                                                    {"f:ingress", json::object()},
                                                    {"f:podSelector", json::object()},
                                                    {"f:policyTypes", json::object()}}}})})}}},
          {"spec", std::move(spec)}};
}

}  // namespace flatwall::bench
