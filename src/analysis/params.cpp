#include "analysis/params.h"

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "nn/layers.h"

namespace anatomy::analysis {
namespace {

using nn::Module;
using nn::Parameter;
using nn::join_path;

std::string dims(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "×" : "") + std::to_string(s[i]);
  return out.empty() ? "1" : out;
}

using Canonical = std::map<const Parameter*, std::string>;

// What a module subtree adds: each distinct parameter not counted before, with its shape.
struct Tally {
  std::string formula;
  uint64_t params = 0;
  std::string tied_to;  // canonical name of a parameter this subtree re-uses
};

void tally(const Module& m, std::set<const Parameter*>& counted, const Canonical& canonical,
           std::set<const Module*>& seen, Tally& t) {
  if (!seen.insert(&m).second) return;
  for (const auto& [name, p] : m.params()) {
    if (!counted.insert(p.get()).second) {
      t.tied_to = canonical.at(p.get());
      continue;
    }
    t.formula += (t.formula.empty() ? "" : " + ") + dims(p->value.shape());
    t.params += p->value.numel();
  }
  for (const auto& [name, c] : m.children()) tally(*c, counted, canonical, seen, t);
}

// Every path of every module object; more than one path marks a shared block.
std::map<const Module*, std::vector<std::string>> module_paths(const Module& root) {
  std::map<const Module*, std::vector<std::string>> paths;
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& path) {
    auto& v = paths[&m];
    v.push_back(path);
    if (v.size() > 1) return;
    for (const auto& [name, c] : m.children()) walk(*c, join_path(path, name));
  };
  walk(root, "");
  return paths;
}

// Walks the tree in order: modules outside layer stacks become one row each; a layer stack
// (a ModuleList) becomes, per distinct layer structure, one layer by part and "× count".
class Breakdown {
 public:
  Breakdown(const Module& root, const Canonical& canonical, std::vector<ComponentRow>& rows)
      : canonical_(canonical), rows_(rows), paths_(module_paths(root)) {}

  void walk(const Module& m, const std::string& path) {
    if (m.type() == "ModuleList" && !m.children().empty()) return stack(m, path);
    if (!m.params().empty() || m.children().empty()) return whole(m, path, 0);
    for (const auto& [name, c] : m.children()) walk(*c, join_path(path, name));
  }

 private:
  bool shared(const Module& m) const { return paths_.at(&m).size() > 1; }

  Tally count(const Module& m) {
    Tally t;
    std::set<const Module*> seen;
    tally(m, counted_, canonical_, seen, t);
    return t;
  }

  void whole(const Module& m, const std::string& path, int depth) {
    const Tally t = count(m);
    if (t.params == 0 && t.tied_to.empty()) return;
    rows_.push_back({.kind = depth == 0 ? ComponentRow::Kind::module : ComponentRow::Kind::part, .name = path,
                     .type = m.type(), .formula = t.formula, .params = t.params, .depth = depth, .tied_to = t.tied_to});
  }

  std::string signature(const Module& m) const {
    std::string s = m.type() + "(";
    for (const auto& [n, p] : m.params()) s += n + shape_str(p->value.shape()) + ";";
    for (const auto& [n, c] : m.children()) s += n + (shared(*c) ? "=shared" : signature(*c)) + ",";
    return s + ")";
  }

  void stack(const Module& list, const std::string& path) {
    std::vector<std::pair<std::string, std::vector<std::string>>> groups;  // signature -> layers
    for (const auto& [name, layer] : list.children()) {
      const std::string sig = signature(*layer);
      auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == sig; });
      if (it == groups.end()) groups.push_back({sig, {name}});
      else it->second.push_back(name);
    }
    for (const auto& [sig, names] : groups) layer_group(list, path, names, groups.size() > 1);
  }

  // "NemotronHBlock (NemotronHMamba2Mixer)": a hybrid stack's layers share one class, so the
  // class of the layer's largest part tells the kinds apart.
  static std::string kind(const Module& layer, bool mixed) {
    if (!mixed) return layer.type();
    const Module* big = nullptr;
    uint64_t most = 0;
    for (const auto& [n, c] : layer.children()) {
      uint64_t k = 0;
      for (const auto& ref : nn::parameter_slots(*c)) k += ref.param->value.numel();
      if (k > most) most = k, big = c.get();
    }
    return big && big->type() != layer.type() ? fmt::format("{} ({})", layer.type(), big->type()) : layer.type();
  }

  void layer_group(const Module& list, const std::string& path, const std::vector<std::string>& names, bool mixed) {
    const Module& layer = *list.find_child(names[0]);
    const std::string label = kind(layer, mixed);
    const size_t header = rows_.size();
    rows_.push_back({});
    uint64_t per_layer = 0;
    for (const auto& [n, p] : layer.params())  // parameters held by the layer module itself
      if (counted_.insert(p.get()).second) per_layer += p->value.numel();
    for (const auto& [cname, child] : layer.children()) {
      if (shared(*child)) continue;
      const size_t before = rows_.size();
      whole(*child, cname, 1);
      if (rows_.size() > before) per_layer += rows_.back().params;
    }
    // Shared blocks of every layer in the group (Zamba2-2.7B alternates two), counted before the
    // identical copies below can claim their parameters.
    std::vector<ComponentRow> shared_rows;
    for (const auto& name : names)
      for (const auto& [cname, child] : list.find_child(name)->children())
        if (shared(*child)) shared_block(*child, join_path(join_path(path, name), cname), shared_rows);
    for (size_t i = 1; i < names.size(); ++i) count(*list.find_child(names[i]));  // identical copies
    rows_[header] = {.kind = ComponentRow::Kind::layer, .name = join_path(path, names[0]), .type = label,
                     .params = per_layer, .layers = names};
    rows_.push_back({.kind = ComponentRow::Kind::stack, .name = path, .type = label,
                     .params = per_layer * names.size(), .layers = names});
    rows_.insert(rows_.end(), shared_rows.begin(), shared_rows.end());
  }

  void shared_block(const Module& m, const std::string& path, std::vector<ComponentRow>& out) {
    if (!shared_done_.insert(&m).second) return;
    const Tally t = count(m);
    out.push_back({.kind = ComponentRow::Kind::shared_block, .name = path, .type = m.type(), .params = t.params,
                   .applied_at = paths_.at(&m)});
  }

  const Canonical& canonical_;
  std::vector<ComponentRow>& rows_;
  std::map<const Module*, std::vector<std::string>> paths_;
  std::set<const Parameter*> counted_;
  std::set<const Module*> shared_done_;
};

}  // namespace

const char* component_kind_name(ComponentRow::Kind k) {
  switch (k) {
    case ComponentRow::Kind::module: return "module";
    case ComponentRow::Kind::layer: return "layer";
    case ComponentRow::Kind::part: return "part";
    case ComponentRow::Kind::stack: return "stack";
    case ComponentRow::Kind::shared_block: return "shared_block";
  }
  return "?";
}

std::string index_ranges(const std::vector<std::string>& names) {
  const auto is_index = [](const std::string& n) { return !n.empty() && n.find_first_not_of("0123456789") == std::string::npos; };
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < names.size()) {
    size_t j = i;
    while (j + 1 < names.size() && is_index(names[j]) && is_index(names[j + 1]) &&
           std::stoll(names[j + 1]) == std::stoll(names[j]) + 1)
      ++j;
    parts.push_back(j == i ? names[i] : names[i] + "–" + names[j]);
    i = j + 1;
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

ParamReport count_params(const models::Model& model) {
  ParamReport r;
  std::map<const Parameter*, std::string> canonical;
  for (const auto& ref : nn::parameter_slots(*model.root)) {
    const auto& v = ref.param->value;
    r.total_with_tied += v.numel();
    TensorRow row{ref.path, v.shape(), v.dtype(), v.numel(), v.nbytes(), "", {}};
    auto [it, fresh] = canonical.emplace(ref.param.get(), ref.path);
    if (!fresh) {
      row.tied_to = it->second;
    } else {
      r.total += v.numel();
      r.bytes += v.nbytes();
      auto& d = r.by_dtype[dtype_name(v.dtype())];
      d.count += v.numel();
      d.bytes += v.nbytes();
    }
    r.tensors.push_back(std::move(row));
  }
  std::map<std::string, std::vector<std::string>> aliases;
  for (const auto& ref : nn::all_parameter_paths(*model.root)) {
    const auto& first = canonical.at(ref.param.get());
    if (ref.path != first) aliases[first].push_back(ref.path);
  }
  for (auto& row : r.tensors)
    if (row.tied_to.empty()) {
      for (const auto& a : aliases[row.name])
        if (std::none_of(r.tensors.begin(), r.tensors.end(), [&](const TensorRow& t) { return t.name == a; }))
          row.aliases.push_back(a);
    }

  Breakdown(*model.root, canonical, r.components).walk(*model.root, "");
  return r;
}

}  // namespace anatomy::analysis
