#include "core/suggest.h"

#include <algorithm>
#include <cctype>

namespace anatomy {
namespace {
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

size_t edit_distance(const std::string& a_in, const std::string& b_in) {
  const std::string a = lower(a_in), b = lower(b_in);
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::vector<std::string> closest_names(const std::string& query, const std::vector<std::string>& candidates,
                                       size_t limit) {
  const size_t max_distance = std::max<size_t>(2, query.size() / 3);
  const std::string q = lower(query);
  std::vector<std::pair<size_t, std::string>> near;
  for (const auto& c : candidates) {
    const size_t d = lower(c).rfind(q, 0) == 0 && !q.empty() ? 1 : edit_distance(query, c);
    if (d <= max_distance) near.emplace_back(d, c);
  }
  std::stable_sort(near.begin(), near.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (size_t i = 0; i < near.size() && i < limit; ++i) out.push_back(near[i].second);
  return out;
}

std::string did_you_mean(const std::string& query, const std::vector<std::string>& candidates) {
  const auto near = closest_names(query, candidates);
  if (near.empty()) return "";
  std::string s = "; did you mean ";
  for (size_t i = 0; i < near.size(); ++i)
    s += (i == 0 ? "" : i + 1 == near.size() ? " or " : ", ") + ("'" + near[i] + "'");
  return s + "?";
}

}  // namespace anatomy
