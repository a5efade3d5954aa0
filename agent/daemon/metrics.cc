#include "agent/daemon/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace flatwall::agent {
namespace {

bool IsNameChar(char c, bool first, bool allow_colon) {
  if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') return true;
  if (allow_colon && c == ':') return true;
  return !first && absl::ascii_isdigit(static_cast<unsigned char>(c));
}

bool IsValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

// HELP text escapes backslash and newline; label values also the double quote.
std::string Escape(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"}, with `extra` (the histogram's le) appended; "" when there are no labels.
std::string LabelText(const std::vector<std::string>& names, const LabelValues& values,
                      const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"", Escape(values[i], true), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : ",", extra_name, "=\"", extra_value, "\"");
  }
  return out.empty() ? out : absl::StrCat("{", out, "}");
}

const char* TypeName(MetricFamily::Type type) {
  switch (type) {
    case MetricFamily::Type::kCounter: return "counter";
    case MetricFamily::Type::kGauge: return "gauge";
    case MetricFamily::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

MetricFamily::MetricFamily(Type type, std::string name, std::string help,
                           std::vector<std::string> label_names, std::vector<double> bounds)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

absl::Status MetricFamily::CheckLabels(const LabelValues& labels) const {
  if (labels.size() == label_names_.size()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("metric ", name_, " takes ",
                                                 label_names_.size(), " label values, got ",
                                                 labels.size()));
}

absl::Status MetricFamily::Add(const LabelValues& labels, double delta) {
  if (type_ == Type::kHistogram) {
    return absl::FailedPreconditionError(absl::StrCat("metric ", name_, " is a histogram"));
  }
  if (type_ == Type::kCounter && !(delta >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("counter ", name_, " cannot decrease (delta ", delta, ")"));
  }
  if (absl::Status status = CheckLabels(labels); !status.ok()) return status;
  std::lock_guard<std::mutex> lock(mutex_);
  series_[labels].value += delta;
  return absl::OkStatus();
}

absl::Status MetricFamily::Set(const LabelValues& labels, double value) {
  if (type_ == Type::kHistogram) {
    return absl::FailedPreconditionError(absl::StrCat("metric ", name_, " is a histogram"));
  }
  if (absl::Status status = CheckLabels(labels); !status.ok()) return status;
  std::lock_guard<std::mutex> lock(mutex_);
  series_[labels].value = value;
  return absl::OkStatus();
}

absl::Status MetricFamily::Observe(const LabelValues& labels, double value) {
  if (type_ != Type::kHistogram) {
    return absl::FailedPreconditionError(absl::StrCat("metric ", name_, " is not a histogram"));
  }
  if (absl::Status status = CheckLabels(labels); !status.ok()) return status;
  // The first bound >= value is the bucket; past every bound (or NaN) it is +Inf's.
  const size_t bucket =
      std::isnan(value) ? bounds_.size()
                        : std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  std::lock_guard<std::mutex> lock(mutex_);
  Series& series = series_[labels];
  if (series.buckets.empty()) series.buckets.assign(bounds_.size() + 1, 0);
  ++series.buckets[bucket];
  series.sum += value;
  ++series.count;
  return absl::OkStatus();
}

void MetricFamily::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  series_.clear();
}

void MetricFamily::Render(std::string& out) const {
  absl::StrAppend(&out, "# HELP ", name_, " ", Escape(help_, false), "\n");
  absl::StrAppend(&out, "# TYPE ", name_, " ", TypeName(type_), "\n");
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [labels, series] : series_) {
    if (type_ != Type::kHistogram) {
      absl::StrAppend(&out, name_, LabelText(label_names_, labels), " ",
                      FormatMetricValue(series.value), "\n");
      continue;
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i < series.buckets.size(); ++i) {
      cumulative += series.buckets[i];
      const std::string le = i < bounds_.size() ? FormatMetricValue(bounds_[i]) : "+Inf";
      absl::StrAppend(&out, name_, "_bucket", LabelText(label_names_, labels, "le", le), " ",
                      cumulative, "\n");
    }
    absl::StrAppend(&out, name_, "_sum", LabelText(label_names_, labels), " ",
                    FormatMetricValue(series.sum), "\n");
    absl::StrAppend(&out, name_, "_count", LabelText(label_names_, labels), " ", series.count,
                    "\n");
  }
}

absl::StatusOr<MetricFamily*> MetricsRegistry::AddCounter(const std::string& name,
                                                          const std::string& help,
                                                          std::vector<std::string> label_names) {
  return Add(MetricFamily::Type::kCounter, name, help, std::move(label_names), {});
}

absl::StatusOr<MetricFamily*> MetricsRegistry::AddGauge(const std::string& name,
                                                        const std::string& help,
                                                        std::vector<std::string> label_names) {
  return Add(MetricFamily::Type::kGauge, name, help, std::move(label_names), {});
}

absl::StatusOr<MetricFamily*> MetricsRegistry::AddHistogram(
    const std::string& name, const std::string& help, std::vector<double> bounds,
    std::vector<std::string> label_names) {
  if (bounds.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("histogram ", name, " has no buckets"));
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "histogram ", name, " bucket bounds must be finite and strictly increasing"));
    }
  }
  return Add(MetricFamily::Type::kHistogram, name, help, std::move(label_names),
             std::move(bounds));
}

absl::StatusOr<MetricFamily*> MetricsRegistry::Add(MetricFamily::Type type,
                                                   const std::string& name,
                                                   const std::string& help,
                                                   std::vector<std::string> label_names,
                                                   std::vector<double> bounds) {
  if (!IsValidName(name, /*allow_colon=*/true)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid metric name \"", name, "\""));
  }
  std::set<std::string> seen;
  for (const std::string& label : label_names) {
    if (!IsValidName(label, /*allow_colon=*/false) || label.rfind("__", 0) == 0 ||
        (type == MetricFamily::Type::kHistogram && label == "le") ||
        !seen.insert(label).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid or repeated label name \"", label, "\" of metric ", name));
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (families_.contains(name)) {
    return absl::AlreadyExistsError(absl::StrCat("metric ", name, " is already registered"));
  }
  auto family = std::unique_ptr<MetricFamily>(
      new MetricFamily(type, name, help, std::move(label_names), std::move(bounds)));
  MetricFamily* pointer = family.get();
  families_.emplace(name, std::move(family));
  return pointer;
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [name, family] : families_) family->Render(out);
  return out;
}

}  // namespace flatwall::agent
