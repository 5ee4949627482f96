// Mermaid flowchart from the module tree: the top-level components in forward order (embeddings,
// one subgraph per kind of layer, final norm, head), each layer kind expanded two levels (its
// children, and their children as a nested subgraph). Shared blocks hang off the layers that apply
// them with a dotted edge. Labels carry module names, types and output shapes, never prose, so the
// diagram is the same in every language.
#include "report/diagram.h"

#include <map>

#include <fmt/format.h>

namespace anatomy::report {

using Json = io::ordered_json;

namespace {

std::string label_text(const std::string& s) {
  std::string out;
  for (const char ch : s) out += ch == '"' ? std::string("#quot;") : std::string(1, ch);
  return out;
}

std::string shape(const Json& m) {
  if (!m.contains("output_shape")) return "";
  std::string out = "[";
  for (size_t i = 0; i < m.at("output_shape").size(); ++i) out += (i ? ", " : "") + std::to_string(m.at("output_shape")[i].get<int64_t>());
  return out + "]";
}

class Writer {
 public:
  explicit Writer(const Json& inspect) : modules_(inspect.at("modules")) {
    for (size_t i = 0; i < modules_.size(); ++i) index_[modules_[i].at("name").get<std::string>()] = i;
  }

  std::string node(const std::string& label, const std::string& open = "[\"", const std::string& close = "\"]") {
    const std::string id = "n" + std::to_string(next_++);
    out_ += indent_ + id + open + label_text(label) + close + "\n";
    return id;
  }

  // The direct children of module `name`, in module order.
  std::vector<const Json*> children(const std::string& name) const {
    std::vector<const Json*> out;
    const auto it = index_.find(name);
    if (it == index_.end()) return out;
    const int64_t depth = modules_[it->second].at("depth").get<int64_t>();
    for (size_t i = it->second + 1; i < modules_.size() && modules_[i].at("depth").get<int64_t>() > depth; ++i)
      if (modules_[i].at("depth").get<int64_t>() == depth + 1) out.push_back(&modules_[i]);
    return out;
  }

  const Json* module(const std::string& name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &modules_[it->second];
  }

  // A subgraph for module `name` titled `title`, its children chained in order (children that have
  // children of their own become nested subgraphs when `nest`).
  std::string subgraph(const std::string& name, const std::string& title, bool nest) {
    const std::string id = "s" + std::to_string(next_++);
    out_ += indent_ + "subgraph " + id + "[\"" + label_text(title) + "\"]\n";
    indent_ += "  ";
    out_ += indent_ + "direction TB\n";
    std::string previous;
    for (const Json* child : children(name)) {
      const std::string full = (*child).at("name").get<std::string>();
      const std::string local = full.substr(name.size() + 1);
      const std::string text = local + "<br/>" + (*child).at("type").get<std::string>() + "<br/>" + shape(*child);
      const std::string id_child = nest && !children(full).empty() ? subgraph(full, local + " · " + (*child).at("type").get<std::string>(), false)
                                                                  : node(text);
      if (!previous.empty()) out_ += indent_ + previous + " --> " + id_child + "\n";
      previous = id_child;
    }
    if (previous.empty()) node(name);
    indent_.resize(indent_.size() - 2);
    out_ += indent_ + "end\n";
    return id;
  }

  void edge(const std::string& a, const std::string& b, const std::string& arrow = " --> ") { out_ += "  " + a + arrow + b + "\n"; }
  std::string text() const { return out_; }

 private:
  const Json& modules_;
  std::map<std::string, size_t> index_;
  std::string out_ = "flowchart TD\n", indent_ = "  ";
  int next_ = 0;
};

}  // namespace

std::string mermaid_diagram(const Json& inspect) {
  Writer w(inspect);
  const Json& fw = inspect.at("forward");
  std::string previous = w.node(fmt::format("input_ids<br/>[{}, {}]", fw.at("batch").get<int64_t>(), fw.at("tokens").get<int64_t>()), "([\"", "\"])");
  std::string last_layer;
  for (const auto& c : inspect.at("params").at("components")) {
    if (c.at("depth").get<int64_t>() != 0) continue;
    const std::string kind = c.at("kind").get<std::string>(), name = c.at("name").get<std::string>();
    std::string id;
    if (kind == "stack") continue;
    if (kind == "layer") {
      const std::string title = fmt::format("{} ×{} · layers {}", c.at("type").get<std::string>(), c.at("layers").at("count").get<int64_t>(),
                                            c.at("layers").at("ranges").get<std::string>());
      id = w.subgraph(name, title, true);
      last_layer = id;
    } else if (kind == "shared_block") {
      const std::string title = fmt::format("{} · shared, applied ×{}", c.at("type").get<std::string>(), c.at("applied_at").size());
      id = w.subgraph(name, title, true);
      w.edge(last_layer.empty() ? previous : last_layer, id, " -.-> ");
      continue;
    } else {
      const Json* m = w.module(name);
      std::string text = name + "<br/>" + c.at("type").get<std::string>();
      if (c.contains("tied_to")) text += "<br/>tied to " + c.at("tied_to").get<std::string>();
      else if (m) text += "<br/>" + shape(*m);
      id = w.node(text);
    }
    w.edge(previous, id);
    previous = id;
  }
  const Json& root = inspect.at("modules").at(0);
  const std::string out = w.node("output<br/>" + shape(root), "([\"", "\"])");
  w.edge(previous, out);
  return w.text();
}

std::string data_flow(const Json& inspect) {
  std::string out = "input_ids";
  for (const auto& c : inspect.at("params").at("components")) {
    if (c.at("depth").get<int64_t>() != 0 || c.at("kind") == "stack" || c.at("kind") == "shared_block") continue;
    const std::string name = c.at("name").get<std::string>();
    if (c.at("kind") == "layer") {
      const std::string stack = name.substr(0, name.rfind('.'));
      out += fmt::format(" → [{}.{{{}}}] ×{}", stack, c.at("layers").at("ranges").get<std::string>(), c.at("layers").at("count").get<int64_t>());
    } else {
      out += " → " + name;
    }
  }
  return out + " → logits";
}

}  // namespace anatomy::report
