// "Did you mean …": the candidates closest to a mistyped name (case-insensitive Levenshtein
// distance), for unknown commands, catalog names and options.
#pragma once

#include <string>
#include <vector>

namespace anatomy {

size_t edit_distance(const std::string& a, const std::string& b);  // case-insensitive
// Up to `limit` candidates within a distance of max(2, |query| / 3), nearest first; a candidate
// that starts with the query (case-insensitively) counts as near.
std::vector<std::string> closest_names(const std::string& query, const std::vector<std::string>& candidates,
                                       size_t limit = 3);
// "; did you mean 'a' or 'b'?" or "" when nothing is close.
std::string did_you_mean(const std::string& query, const std::vector<std::string>& candidates);

}  // namespace anatomy
