// Kubernetes LabelSelector matching (metav1.LabelSelector semantics): matchLabels AND every
// matchExpression; In, NotIn, Exists, DoesNotExist.
//
// Not here: which objects a NetworkPolicy peer selects (that combines a pod selector, a
// namespace selector and the policy's namespace: internal/peer_resolver.h).
#ifndef FLATWALL_POLICY_COMPILER_SELECTOR_H_
#define FLATWALL_POLICY_COMPILER_SELECTOR_H_

#include <string>

#include "policy-compiler/model.h"

namespace flatwall::compiler {

// Whether `labels` satisfy one requirement. NotIn and DoesNotExist match objects that lack
// the key; In with no values matches nothing (the API server rejects it anyway).
bool RequirementMatches(const LabelSelectorRequirement& requirement, const LabelSet& labels);

// Whether `labels` hold every label of `wanted` with the same value: a selector's
// matchLabels, or a Service's selector.
bool LabelsInclude(const LabelSet& labels, const Labels& wanted);

// Whether `labels` satisfy every matchLabels pair and every requirement of `selector`.
// The empty selector matches every object.
bool SelectorMatches(const LabelSelector& selector, const LabelSet& labels);

// True for the selector with no matchLabels and no matchExpressions.
bool IsEmptySelector(const LabelSelector& selector);

// A canonical text form: equal selectors (same requirements, in any order) give equal text,
// different ones different text. For caches keyed by selector.
std::string CanonicalSelectorText(const LabelSelector& selector);

}  // namespace flatwall::compiler

#endif  // FLATWALL_POLICY_COMPILER_SELECTOR_H_
