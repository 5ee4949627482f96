// The report's sections in words: each reads its part of the report document (the inspect, profile,
// bench, eval and training documents the commands wrote, the diagram, the chart list) and formats
// those figures in the catalog's language. Nothing here computes a figure; a section without its
// data says why in one sentence (the document's `omitted` list).
#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "report/page.h"

namespace anatomy::report {

using Json = io::ordered_json;

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> kNames = {"summary", "config",  "components", "diagram", "arithmetic",
                                                  "modules", "tensors", "flops",      "memory",  "profile",
                                                  "bench",   "eval",    "training"};
  return kNames;
}

namespace {

// nlohmann's message without its "[json.exception.out_of_range.403] " prefix.
std::string json_message(const Json::exception& e) {
  const std::string m = e.what();
  const size_t end = m.rfind("] ", m.find(' '));
  return end == std::string::npos ? m : m.substr(end + 2);
}

constexpr int64_t kModuleDepth = 3;  // rows of the module table (report.json holds every module)
constexpr size_t kSlowest = 20;      // modules in the slowest-modules table

Block heading(const std::string& text, int level = 2) { return {.kind = Block::Kind::heading, .level = level, .text = text}; }
Block paragraph(const std::string& text) { return {.kind = Block::Kind::paragraph, .text = text}; }
Block bullets(std::vector<std::string> items) { return {.kind = Block::Kind::bullets, .items = std::move(items)}; }
Block table(std::vector<std::string> header, std::vector<bool> right) {
  return {.kind = Block::Kind::table, .header = std::move(header), .right = std::move(right)};
}
Block chart(const std::string& name) { return {.kind = Block::Kind::chart, .text = name}; }

// Adds the chart `name` to `blocks` when the report drew it (its `charts` list).
void add_chart(const Json& r, const std::string& name, std::vector<Block>& blocks) {
  for (const auto& ch : r.value("charts", Json::array()))
    if (ch.at("name") == name) blocks.push_back(chart(name));
}

std::string code(const std::string& s) { return "`" + s + "`"; }

std::string shape(const Json& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i].get<int64_t>());
  return out + "]";
}

std::string scalar(const Json& v, const Catalog& c) {
  if (v.is_boolean()) return c.text(v.get<bool>() ? "value.yes" : "value.no");
  // Config and recipe values as the files write them (a seed or a vocabulary size is not grouped).
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) return fmt::format("{:g}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ", ") + scalar(e, c);
    return out;
  }
  return v.dump();
}

bool has(const Json& j, const char* key) { return j.is_object() && j.contains(key) && !j[key].is_null(); }

// The weights a run used, in words: synthetic (seed, dtype) or the checkpoint's file and dtype.
std::string weights(const Json& w, const Catalog& c) {
  if (!w.value("ran", false)) return c.text("weights.not_run", code(w.at("source").get<std::string>()));
  if (w.at("synthetic").get<bool>()) return c.text("weights.synthetic", w.at("seed").get<uint64_t>(), w.at("dtype").get<std::string>());
  return c.text("weights.checkpoint", code(w.at("source").get<std::string>()), w.at("dtype").get<std::string>());
}

// ---- summary -------------------------------------------------------------------------------

Section summary(const Json& r, const Catalog& c) {
  const Json& ins = r.at("inspect");
  const Json& params = ins.at("params");
  std::vector<std::string> items;
  items.push_back(c.text("summary.model", code(ins.at("model").at("architecture").get<std::string>()),
                         code(ins.at("model").at("model_type").get<std::string>())));
  const Json& model = r.at("model");
  items.push_back(c.text("summary.shape", c.integer(model.at("layers").get<int64_t>()), c.integer(model.at("hidden_size").get<int64_t>()),
                         c.integer(ins.at("model").at("vocab_size").get<int64_t>())));
  items.push_back(c.text("summary.params", c.integer(params.at("total").get<int64_t>())));
  if (params.at("total_with_tied") != params.at("total"))
    items.push_back(c.text("summary.params_torchinfo", c.integer(params.at("total_with_tied").get<int64_t>())));
  items.push_back(c.text("summary.size", c.bytes(params.at("bytes").get<double>()), ins.at("model").at("dtype").get<std::string>()));
  items.push_back(c.text("summary.weights", weights(r.at("model").at("weights"), c)));
  if (has(r, "profile")) {
    const Json& p = r.at("profile");
    items.push_back(c.text("summary.device", p.at("device").get<std::string>(), r.at("machine").at("cpu").get<std::string>(),
                           c.integer(p.at("options").at("threads").get<int64_t>())));
    items.push_back(c.text("summary.forward", c.ms(p.at("timing").at("forward_ms").at("median").get<double>()),
                           c.integer(p.at("options").at("tokens").get<int64_t>())));
    items.push_back(c.text("summary.flops", c.flops(p.at("flops").at("total").get<double>()), c.rate(p.at("flops").at("gflops_per_s").get<double>() * 1e9),
                           c.percent(p.at("flops").at("pct_of_peak").get<double>())));
  }
  if (has(r, "bench") && has(r.at("bench"), "workload")) {
    const Json& w = r.at("bench").at("workload");
    items.push_back(c.text("summary.generation", c.ms(w.at("latency_s").get<double>() * 1e3), c.integer(w.at("prompt_tokens").get<int64_t>()),
                           c.integer(w.at("new_tokens").get<int64_t>()), c.number(w.at("sequences_per_s").get<double>(), 2)));
  }
  if (has(r, "eval")) items.push_back(c.text("summary.ppl", c.number(r.at("eval").at("ppl").get<double>(), 2), code(r.at("eval").at("text").at("file").get<std::string>())));
  if (has(r, "training"))
    items.push_back(c.text("summary.best", c.integer(r.at("training").at("best_step").get<int64_t>()),
                           c.number(r.at("training").at("best_val_loss").get<double>(), 4)));
  return {"summary", {heading(c.text("section.summary")), bullets(items)}};
}

// ---- config and components -----------------------------------------------------------------

void config_rows(const std::string& prefix, const Json& obj, const Catalog& c, Block& t) {
  for (const auto& [k, v] : obj.items()) {
    if (k == "defaults_used" || k == "defaults_from") continue;
    if (v.is_object()) config_rows(prefix + k + ".", v, c, t);
    else t.rows.push_back({code(prefix + k), scalar(v, c)});
  }
}

Section config(const Json& r, const Catalog& c) {
  const Json& ins = r.at("inspect");
  Block t = table({c.text("col.field"), c.text("col.value")}, {false, false});
  t.rows.push_back({code("architecture"), ins.at("model").at("architecture").get<std::string>()});
  t.rows.push_back({code("model_type"), ins.at("model").at("model_type").get<std::string>()});
  t.rows.push_back({code("dtype"), ins.at("model").at("dtype").get<std::string>()});
  config_rows("", ins.at("config"), c, t);
  std::vector<Block> blocks = {heading(c.text("section.config")), paragraph(c.text("config.intro")), t};
  const Json& cfg = ins.at("config");
  if (has(cfg, "defaults_used") && !cfg.at("defaults_used").empty()) {
    std::string fields;
    for (const auto& [k, v] : cfg.at("defaults_used").items()) fields += (fields.empty() ? "" : ", ") + code(k) + " = " + scalar(v, c);
    blocks.push_back(paragraph(c.text("config.defaults", fields, cfg.value("defaults_from", std::string()))));
  }
  return {"config", blocks};
}

std::string features(const Json& a, const Catalog& c) {
  std::string out;
  for (const auto& f : a.value("features", Json::array())) {
    const std::string key = "feature." + f.get<std::string>();
    out += (out.empty() ? "" : "; ") + (c.has(key) ? c.text(key) : code(f.get<std::string>()));
  }
  return out;
}

Section components(const Json& r, const Catalog& c) {
  const Json& cfg = r.at("inspect").at("config");
  std::vector<std::string> items;
  if (has(cfg, "layer_pattern") && cfg.at("layer_pattern").get<std::string>().find_first_not_of('M') != std::string::npos) {
    std::string counts;
    const Json counts_by_kind = cfg.value("layer_counts", Json::object());
    for (const auto& [k, v] : counts_by_kind.items())
      counts += (counts.empty() ? "" : ", ") + c.text("layer_kind." + k) + " " + c.integer(v.get<int64_t>());
    items.push_back(c.text("component.hybrid", code(cfg.at("layer_pattern").get<std::string>()), counts));
  }
  if (has(cfg, "attention") && cfg.at("attention").at("kind") != "none") {
    const Json& a = cfg.at("attention");
    const std::string kind = a.at("kind").get<std::string>();
    const int64_t h = a.at("heads"), kv = a.at("kv_heads");
    if (kv <= 0) fail(ErrorKind::format, "report document: inspect.config.attention.kv_heads is not positive");  // an edited report.json
    const Json feats = a.value("features", Json::array());
    const std::string head_dim = has(cfg, "head_dim") ? c.integer(cfg.at("head_dim").get<int64_t>()) : "—";
    if (kind == "gqa") items.push_back(c.text("component.gqa", c.integer(h), c.integer(kv), c.integer(h / kv), head_dim));
    else if (kind == "mqa") items.push_back(c.text("component.mqa", c.integer(h), head_dim));
    else items.push_back(c.text("component.mha", c.integer(h), head_dim));
    if (!feats.empty()) items.push_back(c.text("component.attention_features", features(a, c)));
    if (has(cfg, "head_dim")) {
      const bool half = std::find(feats.begin(), feats.end(), "scale_half_head_dim") != feats.end();
      const int64_t d = cfg.at("head_dim").get<int64_t>();
      items.push_back(c.text("component.attention_score", code(fmt::format("softmax(Q·Kᵀ / √{} + mask) · V", half ? d / 2 : d)),
                             c.integer(half ? d / 2 : d)));
    }
  }
  if (has(cfg, "rope")) {
    const Json& rope = cfg.at("rope");
    std::string scaling = rope.value("scaling", std::string("none"));
    if (scaling == "none") items.push_back(c.text("component.rope", fmt::format("{:g}", rope.at("theta").get<double>())));
    else {
      std::string details;
      for (const auto& [k, v] : rope.items())
        if (k != "kind" && k != "theta" && k != "scaling") details += (details.empty() ? "" : ", ") + code(k) + " = " + scalar(v, c);
      items.push_back(c.text("component.rope_scaled", fmt::format("{:g}", rope.at("theta").get<double>()), code(scaling), details));
    }
  }
  if (has(cfg, "position_embedding")) {
    const Json& pe = cfg.at("position_embedding");
    const std::string kind = pe.at("kind").get<std::string>();
    if (kind == "learned") items.push_back(c.text("component.pos_learned", code(pe.value("table", std::string("wpe"))), c.integer(pe.at("positions").get<int64_t>())));
    else if (kind == "sinusoidal") items.push_back(c.text("component.pos_sinusoidal", c.integer(pe.at("positions").get<int64_t>())));
    else if (kind == "recurrence") items.push_back(c.text("component.pos_recurrence"));
  }
  if (has(cfg, "ffn") && cfg.at("ffn").at("kind") != "none") {
    const Json& f = cfg.at("ffn");
    std::string width = "—";
    for (const char* k : {"intermediate_size", "n_inner", "ffn_width", "ffn_hidden"})
      if (has(cfg, k)) width = c.integer(cfg[k].get<int64_t>());
    const std::string act = f.at("activation").get<std::string>();
    if (f.at("kind") == "gated")
      items.push_back(c.text("component.ffn_gated", act == "silu" ? "SwiGLU" : act == "gelu" ? "GeGLU" : "GLU (" + act + ")", width, code(f.at("formula").get<std::string>())));
    else items.push_back(c.text("component.ffn_plain", code(act), width, code(f.at("formula").get<std::string>())));
  }
  if (has(cfg, "ssm_heads"))
    items.push_back(c.text("component.mamba2", c.integer(cfg.at("ssm_heads").get<int64_t>()), c.integer(cfg.at("ssm_head_dim").get<int64_t>()),
                           c.integer(cfg.at("ssm_state_size").get<int64_t>()), c.integer(cfg.at("ssm_groups").get<int64_t>()),
                           c.integer(cfg.at("conv_kernel").get<int64_t>()), c.integer(cfg.at("in_proj_width").get<int64_t>()),
                           c.integer(cfg.at("chunk_size").get<int64_t>())));
  if (has(cfg, "shared_blocks"))
    items.push_back(c.text("component.shared", c.integer(cfg.at("shared_blocks").at("blocks").get<int64_t>()),
                           c.integer(cfg.at("shared_blocks").at("applications").get<int64_t>())));
  if (has(cfg, "adapters")) {
    std::string on;
    for (const auto& t : cfg.at("adapters").at("on")) on += (on.empty() ? "" : ", ") + code(t.get<std::string>());
    items.push_back(c.text("component.adapters", c.integer(cfg.at("adapters").at("rank").get<int64_t>()), on));
  }
  if (has(cfg, "norm")) {
    const Json& n = cfg.at("norm");
    items.push_back(c.text("component.norm", c.text("norm." + n.at("kind").get<std::string>()), fmt::format("{:g}", n.at("eps").get<double>()),
                           c.text("placement." + n.at("placement").get<std::string>())));
  }
  if (has(cfg, "tie_word_embeddings")) items.push_back(c.text(cfg.at("tie_word_embeddings").get<bool>() ? "component.tied" : "component.untied"));
  return {"components", {heading(c.text("section.components")), bullets(items)}};
}

// ---- diagram and parameters -----------------------------------------------------------------

Section diagram(const Json& r, const Catalog& c) {
  return {"diagram", {heading(c.text("section.diagram")), paragraph(c.text("diagram.intro")),
                      {.kind = Block::Kind::mermaid, .text = r.at("diagram").at("mermaid").get<std::string>()},
                      paragraph(c.text("diagram.flow", code(r.at("diagram").at("flow").get<std::string>())))}};
}

Section arithmetic(const Json& r, const Catalog& c) {
  const Json& params = r.at("inspect").at("params");
  Block t = table({c.text("col.component"), c.text("col.type"), c.text("col.formula"), c.text("col.count"), c.text("col.params")},
                  {false, false, false, true, true});
  for (const auto& e : params.at("components")) {
    const std::string kind = e.at("kind").get<std::string>();
    const std::string indent = e.at("depth").get<int64_t>() > 0 ? "&nbsp;&nbsp;&nbsp;" : "";
    std::string count, formula = e.value("formula", std::string());
    if (has(e, "layers")) count = c.text("arith.layers", c.integer(e.at("layers").at("count").get<int64_t>()), e.at("layers").at("ranges").get<std::string>());
    if (has(e, "applied_at")) count = c.text("arith.applied", c.integer(static_cast<int64_t>(e.at("applied_at").size())));
    if (has(e, "tied_to")) formula = c.text("arith.tied", code(e.at("tied_to").get<std::string>()));
    std::string name = kind == "stack" ? c.text("arith.stack", code(e.at("name").get<std::string>())) : code(e.at("name").get<std::string>());
    if (kind == "layer") name = c.text("arith.one_layer", code(e.at("name").get<std::string>()));
    if (!formula.empty() && !has(e, "tied_to")) formula = code(formula);
    t.rows.push_back({indent + name, e.at("type").get<std::string>(), formula, count,
                      c.integer(e.at("params").get<int64_t>())});
  }
  t.rows.push_back({"**" + c.text("arith.total") + "**", "", "", "", "**" + c.integer(params.at("total").get<int64_t>()) + "**"});
  std::vector<Block> blocks = {heading(c.text("section.arithmetic")), t};
  if (params.at("total_with_tied") != params.at("total"))
    blocks.push_back(paragraph(c.text("arith.tied_note", c.integer(params.at("total_with_tied").get<int64_t>()), c.integer(params.at("total").get<int64_t>()))));
  return {"arithmetic", blocks};
}

Section modules(const Json& r, const Catalog& c) {
  const Json& ins = r.at("inspect");
  const int64_t depth = kModuleDepth;
  Block t = table({c.text("col.module"), c.text("col.type"), c.text("col.output_shape"), c.text("col.params"), c.text("col.flops")},
                  {false, false, false, true, true});
  int64_t shown = 0, total = 0;
  for (const auto& m : ins.at("modules")) {
    ++total;
    const int64_t d = m.at("depth").get<int64_t>();
    if (d > depth) continue;
    ++shown;
    std::string indent;
    for (int64_t i = 0; i < d; ++i) indent += "&nbsp;&nbsp;";
    const std::string name = m.at("name").get<std::string>().empty() ? "(root)" : m.at("name").get<std::string>();
    t.rows.push_back({indent + code(name), m.at("type").get<std::string>(), has(m, "output_shape") ? shape(m.at("output_shape")) : "",
                      c.integer(m.at("params").get<int64_t>()), c.flops(m.at("flops").get<double>())});
  }
  const Json& params = ins.at("params");
  return {"modules",
          {heading(c.text("section.modules")),
           paragraph(c.text("modules.intro", c.integer(ins.at("forward").at("batch").get<int64_t>()), c.integer(ins.at("forward").at("tokens").get<int64_t>()),
                            c.integer(depth), c.integer(shown), c.integer(total))),
           t,
           bullets({c.text("modules.total_unique", c.integer(params.at("total").get<int64_t>())),
                    c.text("modules.total_torchinfo", c.integer(params.at("total_with_tied").get<int64_t>()))})}};
}

Section tensors(const Json& r, const Catalog& c) {
  const Json& params = r.at("inspect").at("params");
  Block t = table({"#", c.text("col.tensor"), c.text("col.shape"), c.text("col.dtype"), c.text("col.params"), c.text("col.size")},
                  {true, false, false, false, true, true});
  int64_t i = 0;
  for (const auto& e : params.at("tensors"))
    t.rows.push_back({c.integer(++i), code(e.at("name").get<std::string>()), shape(e.at("shape")), e.at("dtype").get<std::string>(),
                      c.integer(e.at("count").get<int64_t>()), c.bytes(e.at("bytes").get<double>())});
  return {"tensors", {heading(c.text("section.tensors")), t,
                      paragraph(c.text("tensors.total", c.integer(params.at("total").get<int64_t>()), c.bytes(params.at("bytes").get<double>())))}};
}

// ---- cost: FLOPs and memory -----------------------------------------------------------------

Section flops(const Json& r, const Catalog& c) {
  const Json& f = r.at("inspect").at("flops");
  const double total = f.at("total_with_elementwise").get<double>();
  Block by_class = table({c.text("col.class"), c.text("col.flops"), c.text("col.share")}, {false, true, true});
  for (const auto& [k, v] : f.at("by_class").items())
    if (v.get<double>() > 0) by_class.rows.push_back({c.text("class." + k), c.flops(v.get<double>()), c.percent(100 * v.get<double>() / total)});
  Block by_type = table({c.text("col.type"), c.text("col.calls"), c.text("col.flops")}, {false, true, true});
  for (const auto& e : f.at("by_type"))
    by_type.rows.push_back({e.at("type").get<std::string>(), c.integer(e.at("calls").get<int64_t>()), c.flops(e.at("self_flops").get<double>())});
  const Json& fw = r.at("inspect").at("forward");
  return {"flops",
          {heading(c.text("section.flops")),
           bullets({c.text("flops.total", c.flops(f.at("total").get<double>()), c.integer(fw.at("batch").get<int64_t>()), c.integer(fw.at("tokens").get<int64_t>())),
                    c.text("flops.with_elementwise", c.flops(total))}),
           by_class, heading(c.text("flops.by_type"), 3), by_type, paragraph(c.text("flops.conventions", f.at("conventions").get<std::string>()))}};
}

Section memory(const Json& r, const Catalog& c) {
  const Json& m = r.at("inspect").at("memory");
  const Json& fw = r.at("inspect").at("forward");
  std::vector<std::string> items = {c.text("memory.weights", c.bytes(m.at("weights").get<double>()))};
  if (m.at("kv_cache_per_token").get<int64_t>() > 0)
    items.push_back(c.text("memory.kv", c.bytes(m.at("kv_cache_per_token").get<double>()), c.bytes(m.at("kv_cache").get<double>()),
                           c.integer(fw.at("tokens").get<int64_t>() + fw.at("context").get<int64_t>()), m.at("kv_cache_dtype").get<std::string>()));
  if (m.at("ssm_state").get<int64_t>() + m.at("conv_state").get<int64_t>() > 0)
    items.push_back(c.text("memory.ssm", c.bytes(m.at("ssm_state").get<double>()), c.bytes(m.at("conv_state").get<double>()), m.at("state_dtype").get<std::string>()));
  items.push_back(c.text("memory.activations", c.bytes(m.at("activation_peak").get<double>()), m.at("activation_dtype").get<std::string>()));
  return {"memory", {heading(c.text("section.memory")), bullets(items)}};
}

// ---- measurements ---------------------------------------------------------------------------

Section profile(const Json& r, const Catalog& c) {
  const Json& p = r.at("profile");
  const Json& t = p.at("timing");
  const Json& fm = t.at("forward_ms");
  std::vector<std::string> items = {
      c.text("profile.forward", c.ms(fm.at("median").get<double>()), c.ms(fm.at("p10").get<double>()), c.ms(fm.at("p90").get<double>()),
             c.percent(fm.at("spread_pct").get<double>()), c.integer(p.at("options").at("repeat").get<int64_t>()), c.integer(p.at("options").at("warmup").get<int64_t>())),
      c.text("profile.first", c.ms(t.at("first_forward_ms").get<double>())),
      c.text("profile.tokens", c.number(t.at("tokens_per_s").get<double>(), 1), c.integer(p.at("options").at("tokens").get<int64_t>())),
      c.text("profile.flops", c.flops(p.at("flops").at("total").get<double>()), c.rate(p.at("flops").at("gflops_per_s").get<double>() * 1e9),
             c.percent(p.at("flops").at("pct_of_peak").get<double>()), c.rate(p.at("ceilings").at("gemm_gflops_per_s").get<double>() * 1e9)),
      c.text("profile.overhead", c.percent(t.at("overhead_pct").get<double>()), c.percent(t.at("sum_error_pct").get<double>()))};
  std::vector<Block> blocks = {heading(c.text("section.profile")), paragraph(c.text("profile.weights", weights(r.at("model").at("weights"), c))), bullets(items)};
  for (const char* name : {"layer_time", "type_time", "block_time"}) add_chart(r, name, blocks);
  // The FLOP classes some block has, each a column (seed 003's Mamba / attention / FFN split).
  std::vector<std::string> classes;
  for (const auto& e : p.at("blocks"))
    for (const auto& [k, v] : e.at("flops_by_class").items())
      if (v.get<double>() > 0 && k != "norm" && k != "elementwise" && std::find(classes.begin(), classes.end(), k) == classes.end())
        classes.push_back(k);
  Block b = table({"#", c.text("col.block"), c.text("col.type"), c.text("col.time"), c.text("col.share"), c.text("col.flops")},
                  {true, false, false, true, true, true});
  for (const auto& k : classes) b.header.push_back(c.text("class." + k)), b.right.push_back(true);
  for (const char* h : {"col.rate", "col.pct_peak", "col.bound", "col.pct_ceiling"}) b.header.push_back(c.text(h));
  b.right.insert(b.right.end(), {true, true, false, true});
  for (const auto& e : p.at("blocks")) {
    std::vector<std::string> row = {c.integer(e.at("index").get<int64_t>()), code(e.at("path").get<std::string>()), e.at("type").get<std::string>(),
                                    c.ms(e.at("ms").get<double>()), c.percent(e.at("pct_of_forward").get<double>()), c.flops(e.at("flops").get<double>())};
    for (const auto& k : classes) row.push_back(c.flops(e.at("flops_by_class").at(k).get<double>()));
    row.insert(row.end(), {c.rate(e.at("gflops_per_s").get<double>() * 1e9), c.percent(e.at("pct_of_peak").get<double>()),
                           c.text("bound." + e.at("bound").get<std::string>()), c.percent(e.at("pct_of_ceiling").get<double>())});
    b.rows.push_back(row);
  }
  if (!b.rows.empty()) blocks.insert(blocks.end(), {heading(c.text("profile.blocks"), 3), paragraph(c.text("profile.blocks_intro")), b});
  Block ty = table({c.text("col.type"), c.text("col.calls"), c.text("col.self_time"), c.text("col.share"), c.text("col.mean_time")},
                   {false, true, true, true, true});
  for (const auto& e : p.at("types"))
    ty.rows.push_back({e.at("type").get<std::string>(), c.integer(e.at("calls_per_pass").get<int64_t>()), c.ms(e.at("self_ms").get<double>()),
                       c.percent(e.at("self_pct_of_forward").get<double>()), c.ms(e.at("mean_inclusive_ms").get<double>())});
  blocks.insert(blocks.end(), {heading(c.text("profile.types"), 3), ty});
  std::vector<const Json*> slow;
  for (const auto& m : p.at("modules"))
    if (m.at("self_ms").get<double>() > 0) slow.push_back(&m);
  std::stable_sort(slow.begin(), slow.end(), [](const Json* a, const Json* b) { return (*a).at("self_ms").get<double>() > (*b).at("self_ms").get<double>(); });
  const size_t n = std::min(slow.size(), kSlowest);
  Block s = table({"#", c.text("col.module"), c.text("col.type"), c.text("col.self_time"), c.text("col.rate"), c.text("col.bound"), c.text("col.pct_ceiling")},
                  {true, false, false, true, true, false, true});
  for (size_t i = 0; i < n; ++i) {
    const Json& m = *slow[i];
    s.rows.push_back({c.integer(static_cast<int64_t>(i + 1)), code(m.at("path").get<std::string>()), m.at("type").get<std::string>(), c.ms(m.at("self_ms").get<double>()),
                      c.rate(m.at("self_gflops_per_s").get<double>() * 1e9), c.text("bound." + m.at("bound").get<std::string>()),
                      c.percent(m.at("pct_of_ceiling").get<double>())});
  }
  blocks.insert(blocks.end(), {heading(c.text("profile.slowest", c.integer(static_cast<int64_t>(n))), 3), s});
  return {"profile", blocks};
}

Section bench(const Json& r, const Catalog& c) {
  const Json& b = r.at("bench");
  std::vector<Block> blocks = {heading(c.text("section.bench")),
                               paragraph(c.text("bench.protocol", c.integer(b.at("warmup").get<int64_t>()), c.integer(b.at("repeat").get<int64_t>()),
                                                c.integer(b.at("threads").get<int64_t>()), b.at("dtype").get<std::string>()))};
  std::vector<std::string> items;
  for (const auto& e : b.at("prefill"))
    items.push_back(c.text("bench.prefill", c.integer(e.at("tokens").get<int64_t>()), c.number(e.at("tok_per_s").get<double>(), 1),
                           c.ms(e.at("time_to_first_token_s").get<double>() * 1e3)));
  if (has(b, "decode"))
    items.push_back(c.text("bench.decode", c.integer(b.at("decode").at("tokens").get<int64_t>()), c.number(b.at("decode").at("tok_per_s").get<double>(), 1),
                           c.ms(b.at("decode").at("latency_median_ms").get<double>()), c.ms(b.at("decode").at("latency_p90_ms").get<double>())));
  if (has(b, "workload")) {
    const Json& w = b.at("workload");
    items.push_back(c.text("bench.workload", c.integer(w.at("prompt_tokens").get<int64_t>()), c.integer(w.at("new_tokens").get<int64_t>()),
                           c.integer(w.at("batch").get<int64_t>()), c.ms(w.at("latency_s").get<double>() * 1e3), c.number(w.at("sequences_per_s").get<double>(), 2)));
  }
  blocks.push_back(bullets(items));
  if (has(b, "scaling")) {
    add_chart(r, "runtime_scaling", blocks);
    Block t = table({c.text("col.tokens"), c.text("col.time"), c.text("col.tok_s")}, {true, true, true});
    for (const auto& e : b.at("scaling"))
      t.rows.push_back({c.integer(e.at("tokens").get<int64_t>()), c.ms(e.at("forward_s").get<double>() * 1e3), c.number(e.at("tok_per_s").get<double>(), 1)});
    blocks.insert(blocks.end(), {heading(c.text("bench.scaling"), 3), t});
  }
  return {"bench", blocks};
}

Section eval(const Json& r, const Catalog& c) {
  const Json& e = r.at("eval");
  return {"eval",
          {heading(c.text("section.eval")),
           bullets({c.text("eval.ppl", c.number(e.at("ppl").get<double>(), 3)), c.text("eval.nll", c.number(e.at("nll").get<double>(), 4)),
                    c.text("eval.bpb", c.number(e.at("bits_per_byte").get<double>(), 4)),
                    c.text("eval.protocol", e.at("protocol").get<std::string>(), c.integer(e.at("ctx").get<int64_t>()), c.integer(e.at("windows").get<int64_t>()),
                           c.integer(e.at("tokens_scored").get<int64_t>())),
                    c.text("eval.text", code(e.at("text").at("file").get<std::string>()), c.bytes(e.at("text").at("bytes").get<double>()))})}};
}

Section training(const Json& r, const Catalog& c) {
  const Json& t = r.at("training");
  const Json& rec = t.at("recipe");
  Block recipe = table({c.text("col.field"), c.text("col.value")}, {false, false});
  for (const auto& [k, v] : rec.items()) recipe.rows.push_back({code(k), scalar(v, c)});
  std::vector<Block> blocks = {heading(c.text("section.training")), paragraph(c.text("training.source", code(t.at("dir").get<std::string>()))),
                               recipe};
  std::vector<std::string> items;
  if (has(t, "data"))
    items.push_back(c.text("training.data", code(t.at("data").at("file").get<std::string>()), c.integer(t.at("data").at("train_tokens").get<int64_t>()),
                           c.integer(t.at("data").at("validation_tokens").get<int64_t>())));
  items.push_back(c.text("training.steps", c.integer(t.at("step").get<int64_t>()), c.integer(t.at("skipped_steps").get<int64_t>())));
  items.push_back(c.text("training.tokens_per_step", c.integer(t.at("tokens_per_step").get<int64_t>()), c.integer(rec.at("batch").get<int64_t>()),
                         c.integer(rec.at("block").get<int64_t>()), c.integer(rec.at("accum").get<int64_t>())));
  items.push_back(c.text("training.loss." + t.at("loss").get<std::string>()));
  items.push_back(c.text("training.best", c.integer(t.at("best_step").get<int64_t>()), c.number(t.at("best_val_loss").get<double>(), 4),
                         c.number(t.at("best_val_ppl").get<double>(), 2)));
  if (!t.at("log").empty() && has(t.at("log").back(), "train_loss"))
    items.push_back(c.text("training.last", c.integer(t.at("log").back().at("step").get<int64_t>()), c.number(t.at("log").back().at("train_loss").get<double>(), 4)));
  blocks.push_back(bullets(items));
  add_chart(r, "training", blocks);
  return {"training", blocks};
}

Section footer(const Json& r, const Catalog& c) {
  std::vector<std::string> items;
  const Json& m = r.at("machine");
  items.push_back(c.text("footer.machine", m.at("cpu").get<std::string>(), c.integer(m.at("logical_cpus").get<int64_t>()), scalar(m.at("isa"), c),
                         m.at("kernel_isa").get<std::string>()));
  if (has(r, "profile")) {
    const Json& ce = r.at("profile").at("ceilings");
    const Json& g = ce.at("gemm_shape");
    const std::string gemm = fmt::format("{} GEMM {}×{}×{}", g.at("dtype").get<std::string>(), g.at("m").get<int64_t>(), g.at("n").get<int64_t>(), g.at("k").get<int64_t>());
    const std::string origin = !ce.at("ceilings_file").get<std::string>().empty()
                                   ? c.text("footer.ceilings_file", code(ce.at("ceilings_file").get<std::string>()), ce.at("measured_at").get<std::string>())
                                   : c.text(ce.at("quick").get<bool>() ? "footer.ceilings_quick" : "footer.ceilings_measured", ce.at("measured_at").get<std::string>());
    items.push_back(c.text("footer.ceilings", c.rate(ce.at("gemm_gflops_per_s").get<double>() * 1e9), gemm,
                           c.number(ce.at("memory_read_gb_per_s").get<double>(), 1), origin));
  }
  items.push_back(c.text("footer.protocol"));
  items.push_back(c.text("footer.command", code(r.at("command").get<std::string>())));
  items.push_back(c.text("footer.version", r.at("anatomy").at("version").get<std::string>(), r.at("anatomy").at("build").get<std::string>(), r.at("created").get<std::string>()));
  return {"footer", {heading(c.text("section.footer")), bullets(items)}};
}

Section omitted(const Json& o, const Catalog& c) {
  const std::string name = o.at("section").get<std::string>();
  return {name, {heading(c.text("section." + name)), paragraph(c.text("omitted." + o.at("reason").get<std::string>()))}};
}

using Composer = Section (*)(const Json&, const Catalog&);

Composer composer(const std::string& name) {
  static const std::vector<std::pair<std::string, Composer>> kComposers = {
      {"summary", summary}, {"config", config}, {"components", components}, {"diagram", diagram}, {"arithmetic", arithmetic},
      {"modules", modules}, {"tensors", tensors}, {"flops", flops},         {"memory", memory},   {"profile", profile},
      {"bench", bench},     {"eval", eval},     {"training", training}};
  for (const auto& [n, f] : kComposers)
    if (n == name) return f;
  fail(ErrorKind::internal, "report: no composer for section " + name);
}

}  // namespace

std::vector<Section> compose(const Json& r, const Catalog& c) {
  std::vector<Section> page;
  const Json& omissions = r.at("omitted");
  for (const auto& s : r.at("sections")) {
    const std::string name = s.get<std::string>();
    const auto why = std::find_if(omissions.begin(), omissions.end(), [&](const Json& o) { return o.at("section") == name; });
    try {
      page.push_back(why != omissions.end() ? omitted(*why, c) : composer(name)(r, c));
    } catch (const Json::exception& e) {
      fail(ErrorKind::format, fmt::format("report document: section {}: {}", name, json_message(e)));
    }
  }
  page.push_back(footer(r, c));
  return page;
}

Rendering render(const Json& r, const Catalog& c, bool html) {
  try {
    const std::vector<Section> page = compose(r, c);
    Rendering out{.markdown = render_markdown(page, r, c), .charts = chart_specs(r)};
    if (html) out.html = render_html(page, r, c);
    return out;
  } catch (const Json::exception& e) {
    fail(ErrorKind::format, fmt::format("report document: {}", json_message(e)));
  }
}

}  // namespace anatomy::report
