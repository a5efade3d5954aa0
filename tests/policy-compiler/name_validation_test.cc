#include "policy-compiler/internal/name_validation.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace flatwall::compiler::internal {
namespace {

struct Case {
  std::string value;
  std::string want_error;  // empty: valid
};

void Check(absl::Status (*validate)(std::string_view), const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE("\"" + c.value + "\"");
    absl::Status status = validate(c.value);
    if (c.want_error.empty()) {
      EXPECT_TRUE(status.ok()) << status;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(status.message(), c.want_error);
    }
  }
}

const char kLabelRule[] =
    "must consist of lowercase alphanumeric characters or '-', and must start and end with an "
    "alphanumeric character";
const char kSubdomainRule[] =
    "must consist of lowercase alphanumeric characters, '-' or '.', and must start and end with "
    "an alphanumeric character";
const char kNameRule[] =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character";
const char kValueRule[] =
    "must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character";

TEST(NameValidationTest, Dns1123Label) {
  Check(ValidateDns1123Label, {{"a", ""},
                               {"kube-system", ""},
                               {"0abc", ""},
                               {std::string(63, 'a'), ""},
                               {"", "must not be empty"},
                               {std::string(64, 'a'), "must be no more than 63 characters"},
                               {"Shop", kLabelRule},
                               {"a.b", kLabelRule},
                               {"-a", kLabelRule},
                               {"a-", kLabelRule},
                               {"a_b", kLabelRule}});
}

TEST(NameValidationTest, Dns1123Subdomain) {
  Check(ValidateDns1123Subdomain,
        {{"a.b-c.d", ""},
         {"checkout-api-7d9f8b6c4-x2x7q", ""},
         {std::string(253, 'a'), ""},
         {std::string(70, 'a') + "." + std::string(70, 'b'), ""},  // no per-label limit upstream
         {"", "must not be empty"},
         {std::string(254, 'a'), "must be no more than 253 characters"},
         {"a..b", kSubdomainRule},
         {".a", kSubdomainRule},
         {"a.", kSubdomainRule},
         {"a.-b", kSubdomainRule},
         {"My_Policy", kSubdomainRule}});
}

TEST(NameValidationTest, Dns1035Label) {
  const std::string rule =
      "must consist of lowercase alphanumeric characters or '-', start with a letter and end "
      "with an alphanumeric character";
  Check(ValidateDns1035Label, {{"web", ""},
                               {"a1-b2", ""},
                               {"1st", rule},
                               {"a.b", rule},
                               {"", "must not be empty"},
                               {std::string(64, 'a'), "must be no more than 63 characters"}});
}

TEST(NameValidationTest, QualifiedName) {
  Check(ValidateQualifiedName,
        {{"app", ""},
         {"App_Name.v2", ""},
         {"app.kubernetes.io/name", ""},
         {"example.com/MyName", ""},
         {std::string(253, 'a') + "/" + std::string(63, 'b'), ""},
         {"", "name part must not be empty"},
         {"example.com/", "name part must not be empty"},
         {"/name", "prefix part must not be empty"},
         {"a/b/c",
          "must be a name with an optional DNS subdomain prefix and '/' (e.g. "
          "'example.com/MyName')"},
         {std::string(64, 'a'), "name part must be no more than 63 characters"},
         {std::string(254, 'a') + "/b", "prefix part must be no more than 253 characters"},
         {"Example.com/name", std::string("prefix part ") + kSubdomainRule},
         {"-app", kNameRule},
         {"app_", kNameRule},
         {"my app", kNameRule}});
}

TEST(NameValidationTest, LabelValue) {
  Check(ValidateLabelValue, {{"", ""},
                             {"web", ""},
                             {"1.0", ""},
                             {"A_b-c.D", ""},
                             {std::string(63, 'v'), ""},
                             {std::string(64, 'v'), "must be no more than 63 characters"},
                             {"a/b", kValueRule},
                             {"-a", kValueRule},
                             {"a.", kValueRule},
                             {"a b", kValueRule}});
}

TEST(NameValidationTest, PortName) {
  Check(ValidatePortName,
        {{"http", ""},
         {"dns-tcp", ""},
         {"h2c", ""},
         {"a23456789012345", ""},
         {"", "must not be empty"},
         {"a234567890123456", "must be no more than 15 characters"},
         {"HTTP", "must contain only lowercase letters (a-z), digits (0-9) and '-'"},
         {"my_port", "must contain only lowercase letters (a-z), digits (0-9) and '-'"},
         {"8080", "must contain at least one letter (a-z)"},
         {"-http", "must not begin or end with '-'"},
         {"http-", "must not begin or end with '-'"},
         {"ht--tp", "must not contain consecutive '-'"}});
}

}  // namespace
}  // namespace flatwall::compiler::internal
