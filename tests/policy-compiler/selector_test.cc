#include "policy-compiler/selector.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/model_builders.h"

namespace flatwall::compiler {
namespace {

using ::flatwall::testing::DoesNotExist;
using ::flatwall::testing::Exists;
using ::flatwall::testing::In;
using ::flatwall::testing::NotIn;
using ::flatwall::testing::Selector;

struct SelectorCase {
  std::string name;
  LabelSelector selector;
  Labels labels;
  bool matches;
};

TEST(SelectorTest, MatchesLikeKubernetesLabelSelectors) {
  const Labels web = {{"app", "web"}, {"tier", "front"}};
  const std::vector<SelectorCase> cases = {
      {"EmptySelectorMatchesEverything", Selector(), web, true},
      {"EmptySelectorMatchesUnlabelled", Selector(), {}, true},
      {"MatchLabelsEqual", Selector({{"app", "web"}}), web, true},
      {"MatchLabelsOtherValue", Selector({{"app", "db"}}), web, false},
      {"MatchLabelsMissingKey", Selector({{"env", "prod"}}), web, false},
      {"MatchLabelsAreAnded", Selector({{"app", "web"}, {"tier", "back"}}), web, false},
      {"InListedValue", Selector({}, {In("app", {"db", "web"})}), web, true},
      {"InUnlistedValue", Selector({}, {In("app", {"db"})}), web, false},
      {"InMissingKey", Selector({}, {In("env", {"prod"})}), web, false},
      {"InWithNoValuesMatchesNothing", Selector({}, {In("app", {})}), web, false},
      {"NotInUnlistedValue", Selector({}, {NotIn("app", {"db"})}), web, true},
      {"NotInListedValue", Selector({}, {NotIn("app", {"web"})}), web, false},
      {"NotInMatchesPodsMissingTheKey", Selector({}, {NotIn("env", {"prod"})}), web, true},
      {"ExistsPresent", Selector({}, {Exists("tier")}), web, true},
      {"ExistsAbsent", Selector({}, {Exists("env")}), web, false},
      {"ExistsWithEmptyValue", Selector({}, {Exists("flag")}), {{"flag", ""}}, true},
      {"DoesNotExistAbsent", Selector({}, {DoesNotExist("env")}), web, true},
      {"DoesNotExistPresent", Selector({}, {DoesNotExist("app")}), web, false},
      {"LabelsAndExpressionsAreAnded", Selector({{"app", "web"}}, {DoesNotExist("tier")}), web,
       false},
      {"ExpressionsAreAnded", Selector({}, {Exists("app"), NotIn("tier", {"front"})}), web,
       false},
      {"AllRequirementsHold",
       Selector({{"tier", "front"}}, {In("app", {"web"}), NotIn("env", {"dev"})}), web, true},
  };
  for (const SelectorCase& test : cases) {
    SCOPED_TRACE(test.name);
    EXPECT_EQ(SelectorMatches(test.selector, test.labels), test.matches);
  }
}

TEST(SelectorTest, LabelsIncludeEveryWantedLabelWithItsValue) {
  const LabelSet web = Labels{{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(LabelsInclude(web, {}));
  EXPECT_TRUE(LabelsInclude(web, {{"app", "web"}}));
  EXPECT_TRUE(LabelsInclude(web, {{"app", "web"}, {"tier", "front"}}));
  EXPECT_FALSE(LabelsInclude(web, {{"app", "db"}}));
  EXPECT_FALSE(LabelsInclude(web, {{"app", "web"}, {"env", "prod"}}));
  EXPECT_FALSE(LabelsInclude({}, {{"app", "web"}}));
}

TEST(SelectorTest, EmptinessIsAboutRequirementsNotLabels) {
  EXPECT_TRUE(IsEmptySelector(Selector()));
  EXPECT_FALSE(IsEmptySelector(Selector({{"a", "b"}})));
  EXPECT_FALSE(IsEmptySelector(Selector({}, {Exists("a")})));
}

TEST(SelectorTest, CanonicalTextIgnoresOrderAndSeparatesDifferentSelectors) {
  EXPECT_EQ(CanonicalSelectorText(Selector({}, {Exists("a"), In("b", {"y", "x"})})),
            CanonicalSelectorText(Selector({}, {In("b", {"x", "y"}), Exists("a")})));
  const std::vector<LabelSelector> distinct = {
      Selector(),
      Selector({{"a", "b"}}),
      Selector({{"a", "b"}, {"c", "d"}}),
      Selector({{"a:b", ""}}),
      Selector({{"a", ":b"}}),
      Selector({}, {Exists("a")}),
      Selector({}, {DoesNotExist("a")}),
      Selector({}, {In("a", {"b"})}),
      Selector({}, {NotIn("a", {"b"})}),
      Selector({}, {In("a", {"b", "c"})}),
  };
  for (size_t i = 0; i < distinct.size(); ++i) {
    for (size_t j = i + 1; j < distinct.size(); ++j) {
      SCOPED_TRACE(::testing::Message() << i << " vs " << j);
      EXPECT_NE(CanonicalSelectorText(distinct[i]), CanonicalSelectorText(distinct[j]));
    }
  }
}

}  // namespace
}  // namespace flatwall::compiler
