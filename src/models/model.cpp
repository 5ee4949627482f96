#include "models/model.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace anatomy::models {

constexpr int64_t kMaxCount = int64_t{1} << 31;

bool ConfigReader::has(const std::string& key) const {
  return j_.contains(key) && !j_[key].is_null();
}

const json& ConfigReader::value(const std::string& key) const {
  if (!has(key)) error(key, "required field is missing");
  return j_[key];
}

void ConfigReader::error(const std::string& key, const std::string& message) const {
  fail_at(ErrorKind::config, file_, key, message);
}

int64_t ConfigReader::count(const std::string& key) const {
  const auto& v = value(key);
  if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()))
    error(key, v.dump() + " is not an integer");
  const double d = v.get<double>();
  if (d <= 0) error(key, v.dump() + " must be positive");
  if (d >= static_cast<double>(kMaxCount)) error(key, v.dump() + " is absurdly large (limit 2^31)");
  return static_cast<int64_t>(d);
}

int64_t ConfigReader::layers(const std::string& key) const {
  const int64_t n = count(key);
  if (n > kMaxLayers) error(key, fmt::format("{} layers is absurd (limit {})", n, kMaxLayers));
  return n;
}

int64_t ConfigReader::count_or(const std::string& key, int64_t fallback) const {
  return has(key) ? count(key) : this->fallback(key, fallback);
}

int64_t ConfigReader::index_or(const std::string& key, int64_t fallback) const {
  if (!has(key)) return this->fallback(key, fallback);
  const auto& v = value(key);
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= kMaxCount)
    error(key, v.dump() + " is not an integer in [0, 2^31)");
  return v.get<int64_t>();
}

double ConfigReader::number_or(const std::string& key, double fallback) const {
  if (!has(key)) return this->fallback(key, fallback);
  const auto& v = value(key);
  if (!v.is_number()) error(key, v.dump() + " is not a number");
  return v.get<double>();
}

double ConfigReader::positive_or(const std::string& key, double fallback) const {
  const double d = number_or(key, fallback);
  if (!(d > 0) || !std::isfinite(d)) error(key, fmt::format("{} must be a positive number", d));
  return d;
}

bool ConfigReader::flag_or(const std::string& key, bool fallback) const {
  if (!has(key)) return this->fallback(key, fallback);
  const auto& v = value(key);
  if (!v.is_boolean()) error(key, v.dump() + " is not true or false");
  return v.get<bool>();
}

std::string ConfigReader::string_or(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return this->fallback(key, fallback);
  const auto& v = value(key);
  if (!v.is_string()) error(key, v.dump() + " is not a string");
  return v.get<std::string>();
}

std::vector<int64_t> ConfigReader::index_list(const std::string& key) const {
  std::vector<int64_t> out;
  if (!has(key)) return out;
  const auto& v = value(key);
  if (!v.is_array()) error(key, "is not a list");
  for (const auto& x : v) {
    if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() >= kMaxCount)
      error(key, x.dump() + " is not an integer in [0, 2^31)");
    out.push_back(x.get<int64_t>());
  }
  return out;
}

int64_t check_heads(const ConfigReader& c, const char* hidden_key, const char* heads_key,
                    const char* kv_key, const char* head_dim_key) {
  const int64_t hidden = c.count(hidden_key), heads = c.count(heads_key);
  const int64_t kv = kv_key ? c.count_or(kv_key, heads) : heads;
  if (heads % kv != 0)
    c.error(kv_key, fmt::format("{} query heads are not a multiple of {} KV heads", heads, kv));
  if (head_dim_key && c.has(head_dim_key)) return c.count(head_dim_key);
  if (hidden % heads != 0)
    c.error(heads_key, fmt::format("{} heads do not divide {} = {} and no {} is given", heads,
                                   hidden_key, hidden, head_dim_key ? head_dim_key : "head_dim"));
  return hidden / heads;
}

ordered_json attention_facts(int64_t heads, int64_t kv_heads, std::vector<std::string> features) {
  const char* kind = heads == kv_heads ? "mha" : kv_heads == 1 ? "mqa" : "gqa";
  return {{"kind", kind}, {"heads", heads}, {"kv_heads", kv_heads}, {"features", std::move(features)}};
}

ordered_json norm_facts(const char* kind, double eps, const char* placement, ordered_json extra) {
  ordered_json j = {{"kind", kind}, {"eps", eps}, {"placement", placement}};
  j.update(extra);
  return j;
}

ordered_json ffn_facts(const char* kind, const std::string& activation, const std::string& formula, ordered_json extra) {
  ordered_json j = {{"kind", kind}, {"activation", activation}, {"formula", formula}};
  j.update(extra);
  return j;
}

}  // namespace anatomy::models
