// RoPE as a config states it, in both spellings: transformers 4's top-level `rope_theta` and
// `rope_scaling`, and transformers 5's `rope_parameters` (rope_theta, rope_type and the fields of
// that type). ARCHITECTURES.md §3.3 and §13.
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "models/model.h"

namespace anatomy::models {
namespace {

struct Rope {
  std::optional<double> theta;
  std::optional<nn::RopeSpec> scaling;  // dim and theta unset; only the scaling fields
};

// The scaling fields of one object (rope_scaling or rope_parameters); nullopt for "default".
std::optional<nn::RopeSpec> scaling_of(const ConfigReader& s) {
  const std::string type = s.string_or("rope_type", s.string_or("type", "default"));
  if (type == "default") return std::nullopt;
  if (type != "llama3" && type != "linear")
    s.error("rope_type", "'" + type + "' is not supported (default, linear, llama3): it changes more than the frequencies");
  nn::RopeSpec r;
  r.scaling = type;
  r.factor = s.positive_or("factor", 0);
  if (type == "llama3") {
    r.low_freq_factor = s.positive_or("low_freq_factor", 0);
    r.high_freq_factor = s.positive_or("high_freq_factor", 0);
    r.original_max_position_embeddings = s.count("original_max_position_embeddings");
    if (r.high_freq_factor <= r.low_freq_factor) s.error("high_freq_factor", "must be greater than low_freq_factor");
  }
  return r;
}

Rope old_form(const ConfigReader& c) {
  Rope r;
  if (c.has("rope_theta")) r.theta = c.positive_or("rope_theta", 0);
  if (c.has("rope_scaling")) {
    const json& j = c.raw()["rope_scaling"];
    if (!j.is_object()) c.error("rope_scaling", "is not an object");
    r.scaling = scaling_of(ConfigReader(j, c.file() + ": rope_scaling"));
  }
  return r;
}

std::optional<Rope> new_form(const ConfigReader& c) {
  if (!c.has("rope_parameters")) return std::nullopt;
  const json& j = c.raw()["rope_parameters"];
  if (!j.is_object()) c.error("rope_parameters", "is not an object");
  const ConfigReader p(j, c.file() + ": rope_parameters");
  Rope r;
  if (p.has("rope_theta")) r.theta = p.positive_or("rope_theta", 0);
  r.scaling = scaling_of(p);
  return r;
}

bool same_scaling(const std::optional<nn::RopeSpec>& a, const std::optional<nn::RopeSpec>& b) {
  if (!a || !b) return !a && !b;
  return a->scaling == b->scaling && a->factor == b->factor && a->low_freq_factor == b->low_freq_factor &&
         a->high_freq_factor == b->high_freq_factor &&
         a->original_max_position_embeddings == b->original_max_position_embeddings;
}

}  // namespace

nn::RopeSpec read_rope(const ConfigReader& c, int64_t dim, double default_theta) {
  const Rope old = old_form(c);
  const std::optional<Rope> now = new_form(c);
  if (now && old.theta && now->theta && *old.theta != *now->theta)
    c.error("rope_parameters", fmt::format("rope_theta {:g} differs from the top-level rope_theta {:g}", *now->theta, *old.theta));
  if (now && c.has("rope_scaling") && !same_scaling(old.scaling, now->scaling))
    c.error("rope_parameters", "its rope_type and scaling fields differ from rope_scaling");
  nn::RopeSpec r = (now && now->scaling) ? *now->scaling : old.scaling.value_or(nn::RopeSpec{});
  r.dim = dim;
  r.theta = now && now->theta ? *now->theta : old.theta.value_or(default_theta);
  return r;
}

ordered_json rope_facts(const nn::RopeSpec& r) {
  if (r.dim == 0) return {{"kind", "none"}};
  ordered_json j = {{"kind", "rotate_half"}, {"theta", r.theta}, {"scaling", r.scaling}};
  if (r.scaling == "linear") j["factor"] = r.factor;
  if (r.scaling == "llama3")
    j.update(ordered_json{{"factor", r.factor}, {"low_freq_factor", r.low_freq_factor},
                          {"high_freq_factor", r.high_freq_factor},
                          {"original_max_position_embeddings", r.original_max_position_embeddings}});
  return j;
}

}  // namespace anatomy::models
