// `anatomy inspect MODEL`: config with every derived value, per-component parameter arithmetic,
// per-tensor table, totals and bytes by dtype, and with --tokens/--context the forward cost of a
// meta run. Headers only. The document (schema docs/inspect.md) is built first; the tables are
// rendered from it alone.
#include <algorithm>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "analysis/cost.h"
#include "analysis/guards.h"
#include "analysis/params.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "models/loader.h"

namespace anatomy::cli {
namespace {

using Json = io::ordered_json;
constexpr auto R = Table::Align::right, L = Table::Align::left;

Json components_json(const analysis::ParamReport& r) {
  Json comps = Json::array();
  for (const auto& c : r.components) {
    Json e = {{"kind", analysis::component_kind_name(c.kind)}, {"name", c.name}, {"type", c.type},
              {"formula", c.formula}, {"params", c.params}, {"depth", c.depth}};
    if (!c.tied_to.empty()) e["tied_to"] = c.tied_to;
    if (!c.layers.empty()) e["layers"] = {{"count", c.layers.size()}, {"ranges", analysis::index_ranges(c.layers)}};
    if (!c.applied_at.empty()) e["applied_at"] = c.applied_at;
    comps.push_back(e);
  }
  return comps;
}

Json params_json(const analysis::ParamReport& r) {
  Json tensors = Json::array();
  for (const auto& t : r.tensors) {
    Json e = {{"name", t.name}, {"shape", t.shape}, {"dtype", dtype_name(t.dtype)},
              {"count", t.count}, {"bytes", t.tied_to.empty() ? t.bytes : 0}};
    if (!t.tied_to.empty()) e["tied_to"] = t.tied_to;
    if (!t.aliases.empty()) e["aliases"] = t.aliases;
    tensors.push_back(e);
  }
  Json by_dtype = Json::object();
  for (const auto& [name, d] : r.by_dtype) by_dtype[name] = {{"count", d.count}, {"bytes", d.bytes}};
  return {{"total", r.total}, {"total_with_tied", r.total_with_tied}, {"bytes", r.bytes}, {"by_dtype", by_dtype},
          {"components", components_json(r)}, {"tensors", tensors}};
}

constexpr const char* kConventions =
    "multiply-add = 2 FLOPs; attention QKᵀ and P·V over the full T×Tk rectangle; SSM in its recurrent form "
    "B·T·H·(5PN+3P); depthwise conv 2·B·T·C·K; total = linear + attention + ssm + conv + head; norms (4 or 8 "
    "per element, gated norm 6), activations, softmax (5 per score), bias and residual adds (1 per element) "
    "are listed apart as conventions";

std::string forward_title(const Json& fw) {
  const int64_t tokens = fw["tokens"], context = fw["context"], batch = fw["batch"];
  const bool last = fw["logits"] == "last";
  const std::string logits = last ? "last position" : fmt::format("all {} positions", tokens);
  if (context > 0 && tokens == 1)
    return fmt::format("decode step after {} cached tokens (batch {}, logits for the last position)", context, batch);
  if (context > 0) return fmt::format("prefill of {} tokens after {} cached (batch {}, logits for {})", tokens, context, batch, logits);
  return fmt::format("prefill of {} tokens (batch {}, logits for {})", tokens, batch, logits);
}

Json cost_json(const analysis::CostReport& c) {
  Json by_class = Json::object();
  for (int i = 0; i < ops::kOpClasses; ++i) by_class[ops::op_class_name(static_cast<ops::OpClass>(i))] = c.by_class[i];
  Json by_type = Json::array();
  for (const auto& [type, v] : c.by_type) by_type.push_back({{"type", type}, {"calls", v.first}, {"self_flops", v.second}});
  Json modules = Json::array();
  for (const auto& m : c.modules)
    modules.push_back({{"name", m.path}, {"type", m.type}, {"depth", m.depth}, {"input_shape", m.input},
                       {"output_shape", m.output}, {"params", m.params}, {"flops", m.flops},
                       {"self_flops", m.self_flops}, {"bytes", m.bytes}});
  const auto& mem = c.memory;
  return {{"forward", {{"batch", c.options.batch}, {"tokens", c.options.tokens}, {"context", c.options.context},
                       {"logits", c.options.last_logits ? "last" : "all"}}},
          {"flops", {{"total", c.total}, {"elementwise", c.elementwise}, {"total_with_elementwise", c.total + c.elementwise},
                     {"by_class", by_class}, {"by_type", by_type}, {"conventions", kConventions}}},
          {"modules", modules},
          {"memory", {{"weights", mem.weights}, {"kv_cache_dtype", mem.kv_dtype},
                      {"kv_cache_per_token", mem.kv_cache_per_token}, {"kv_cache", mem.kv_cache},
                      {"ssm_state", mem.ssm_state}, {"conv_state", mem.conv_state},
                      {"state_dtype", "float32"}, {"activation_peak", mem.activation_peak},
                      {"activation_dtype", "float32"}}}};
}

std::optional<analysis::CostOptions> cost_options(const InspectOptions& o) {
  if (o.tokens == 0 && o.context < 0) {
    if (!o.logits.empty()) fail(ErrorKind::config, "--logits: needs --tokens or --context (a forward to run)");
    return std::nullopt;
  }
  analysis::CostOptions c;
  c.batch = o.batch;
  c.context = std::max<int64_t>(o.context, 0);
  c.tokens = o.tokens > 0 ? o.tokens : 1;
  c.last_logits = o.logits.empty() ? o.context >= 0 && o.tokens == 0 : o.logits == "last";
  return c;
}

// --check-tensors: the weights are mapped and every float tensor scanned for NaN and Inf.
Json tensor_check(models::LoadedModel& lm, Progress& progress) {
  if (!lm.has_weights()) fail(ErrorKind::config, "--check-tensors: " + lm.source + " has no weights to check");
  models::map_weights(lm);
  std::vector<std::string> skipped;
  const auto bad = analysis::check_tensors(lm.model, &skipped, progress);
  Json rows = Json::array();
  for (const auto& b : bad) rows.push_back({{"name", b.name}, {"first_index", b.first_index}, {"nans", b.nans}, {"infs", b.infs}});
  return {{"non_finite", rows}, {"not_scanned", skipped}};
}

// A .safetensors file with no config.json beside it: the header is validated and its tensors
// listed; the architecture is unknown, so nothing is counted by component.
Json lone_safetensors_document(const std::string& path) {
  const io::SafetensorsFile f = io::read_safetensors(path);
  Json tensors = Json::array();
  uint64_t count = 0, bytes = 0;
  Json by_dtype = Json::object();
  for (const auto& t : f.tensors) {
    const uint64_t n = shape_numel(t.shape).value_or(0);
    tensors.push_back({{"name", t.name}, {"shape", t.shape}, {"dtype", dtype_name(t.dtype)}, {"count", n}, {"bytes", t.nbytes}});
    count += n;
    bytes += t.nbytes;
    Json& d = by_dtype[dtype_name(t.dtype)];
    if (d.is_null()) d = {{"count", 0}, {"bytes", 0}};
    d["count"] = d["count"].get<uint64_t>() + n;
    d["bytes"] = d["bytes"].get<uint64_t>() + t.nbytes;
  }
  return {{"schema", "anatomy.inspect/2"},
          {"source", {{"path", path}, {"format", "safetensors"}, {"config", nullptr}, {"weights", "checkpoint"}}},
          {"model", {{"architecture", nullptr}, {"model_type", nullptr}, {"unknown_reason", "no_config"}}},
          {"params", {{"total", count}, {"bytes", bytes}, {"by_dtype", by_dtype}, {"tensors", tensors}}},
          {"checkpoint", {{"file_bytes", f.file_size}, {"header_bytes_read", f.header_bytes}, {"stored_tensors", f.tensors.size()},
                          {"metadata", f.metadata}}}};
}

bool lone_safetensors(const std::string& source) {
  namespace fs = std::filesystem;
  return source.ends_with(".safetensors") && fs::is_regular_file(source) &&
         !fs::exists(fs::path(source).parent_path() / "config.json");
}

// ---- rendering (from the document alone) ----

std::string render_config(const Json& d, Format f) {
  const std::string type = d["model"]["model_type"];
  Table cfg({"field", "value"});
  cfg.add({"architecture", d["model"]["architecture"]});
  cfg.add({"model_type", type});
  for (const auto& [k, v] : d["config"].items()) cfg.add({k, describe_config(k, type, v)});
  return heading("Config", f) + cfg.render(f);
}

std::string component_label(const Json& c) {
  const std::string kind = c["kind"];
  const std::string name = c["name"];
  if (kind == "layer") return name + ", one layer";
  if (kind == "stack") return fmt::format("{} × {}", c["type"].get<std::string>(), c["layers"]["count"].get<size_t>());
  return std::string(c["depth"].get<size_t>() * 2, ' ') + name;
}

std::string component_formula(const Json& c) {
  const std::string kind = c["kind"];
  if (kind == "layer") return "sum of the parts below";
  if (kind == "shared_block") return "sum of its parameters";
  if (kind == "stack") {
    const uint64_t n = c["layers"]["count"];
    return fmt::format("{} × {}", with_commas(c["params"].get<uint64_t>() / n), n);
  }
  return c["formula"];
}

std::string component_note(const Json& c) {
  if (c.contains("tied_to")) return "tied to " + c["tied_to"].get<std::string>() + " (counted once)";
  if (c["kind"] == "layer") {
    const size_t n = c["layers"]["count"];
    return fmt::format("same structure in {} layer{}: {}", n, n == 1 ? "" : "s", c["layers"]["ranges"].get<std::string>());
  }
  if (c["kind"] == "shared_block") {
    std::string paths;
    for (const auto& p : c["applied_at"]) paths += (paths.empty() ? "" : ", ") + p.get<std::string>();
    return fmt::format("one object, applied in {} layers: {}", c["applied_at"].size(), paths);
  }
  return "";
}

std::string render_components(const Json& d, Format f) {
  const Json& rows = d["params"]["components"];
  Table comp({"component", "type", "formula", "params", "note"}, {L, L, L, R, L});
  for (size_t i = 0; i < rows.size(); ++i)
    comp.add({component_label(rows[i]), rows[i]["type"], component_formula(rows[i]), with_commas(rows[i]["params"]),
              component_note(rows[i])});
  comp.add({"total (unique)", "", "", with_commas(d["params"]["total"]), ""});
  return heading("Parameters by component", f) + comp.render(f);
}

std::string render_tensors(const Json& d, int64_t max_rows, Format f) {
  const Json& tensors = d["params"]["tensors"];
  Table tens({"#", "name", "shape", "count", "size", "dtype", "tied / shared"}, {R, L, L, R, R, L, L});
  size_t i = 0;
  for (const auto& t : tensors) {
    if (max_rows > 0 && i >= static_cast<size_t>(max_rows)) break;
    std::string note = t.contains("tied_to") ? "tied to " + t["tied_to"].get<std::string>() : "";
    if (t.contains("aliases")) note = fmt::format("shared: also at {} other paths", t["aliases"].size());
    tens.add({std::to_string(++i), t["name"], shape_str(t["shape"].get<Shape>()), with_commas(t["count"]),
              t.contains("tied_to") ? "0 (tied)" : short_bytes(t["bytes"]), t["dtype"], note});
  }
  std::string out = heading("Tensors", f) + tens.render(f);
  if (max_rows > 0 && tensors.size() > static_cast<size_t>(max_rows))
    out += fmt::format("… {} more tensors (--max-tensors 0 shows all)\n", tensors.size() - static_cast<size_t>(max_rows));
  return out;
}

std::string render_totals(const Json& d, Format f) {
  const Json& p = d["params"];
  Table tot({"measure", "value"}, {L, R});
  if (p.contains("total_with_tied")) {
    tot.add({"parameters (unique storages)", with_commas(p["total"])});
    tot.add({"parameters, torchinfo-style (tied counted again)", with_commas(p["total_with_tied"])});
    tot.add({"of which tied duplicates", with_commas(p["total_with_tied"].get<uint64_t>() - p["total"].get<uint64_t>())});
  } else {
    tot.add({"parameters (stored tensors)", with_commas(p["total"])});
  }
  tot.add({"weights size (stored dtypes)", human_bytes(p["bytes"])});
  if (d.contains("checkpoint")) {
    tot.add({"checkpoint files", human_bytes(d["checkpoint"]["file_bytes"])});
    tot.add({"header bytes read", with_commas(d["checkpoint"]["header_bytes_read"])});
  }
  Table dt({"dtype", "parameters", "bytes"}, {L, R, R});
  for (const auto& [name, v] : p["by_dtype"].items()) dt.add({name, with_commas(v["count"]), human_bytes(v["bytes"])});
  return heading("Totals", f) + tot.render(f) + heading("Bytes by dtype", f) + dt.render(f);
}

std::string render_cost(const Json& d, int depth, Format f) {
  std::string out = heading("Forward cost: " + forward_title(d["forward"]), f);
  double largest = 0;
  for (const auto& m : d["modules"]) largest = std::max(largest, m["flops"].get<double>());
  const Unit u = flop_unit(largest);
  Table mods({"layer (type (name))", "input shape", "output shape", "params", u.name}, {L, L, L, R, R});
  for (const auto& m : d["modules"]) {
    const int md = m["depth"];
    if (md > depth) continue;
    const std::string path = m["name"];
    const std::string leaf = path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
    const std::string indent = md == 0 ? "" : std::string(static_cast<size_t>(2 * (md - 1)), ' ') + "└─";
    const uint64_t params = m["params"];
    mods.add({indent + m["type"].get<std::string>() + (leaf.empty() ? "" : " (" + leaf + ")"),
              shape_str(m["input_shape"].get<Shape>()), shape_str(m["output_shape"].get<Shape>()),
              params ? with_commas(params) : "--", u.cell(m["flops"])});
  }
  out += mods.render(f);
  out += fmt::format("(modules deeper than {} levels are in --format json; --depth N shows more)\n", depth);

  const Json& fl = d["flops"];
  const double total = fl["total"], elementwise = fl["elementwise"], all = total + elementwise;
  const Unit cu = flop_unit(all);
  Table cls({"class", cu.name, "share"}, {L, R, R});
  for (const auto& [name, v] : fl["by_class"].items())
    if (v.get<double>() > 0) cls.add({name, cu.cell(v), fmt::format("{:.2f} %", 100 * v.get<double>() / all)});
  cls.add({"total (linear + attention + ssm + conv + head)", cu.cell(total), fmt::format("{:.2f} %", 100 * total / all)});
  cls.add({"norms and elementwise (conventions)", cu.cell(elementwise), fmt::format("{:.2f} %", 100 * elementwise / all)});
  out += heading("FLOPs by class", f) + cls.render(f) + "Conventions: " + fl["conventions"].get<std::string>() + ".\n";

  double largest_type = 0;
  for (const auto& t : fl["by_type"]) largest_type = std::max(largest_type, t["self_flops"].get<double>());
  const Unit tu = flop_unit(largest_type);
  Table types({"type", "calls", tu.name}, {L, R, R});
  for (const auto& t : fl["by_type"])
    if (t["self_flops"].get<double>() > 0) types.add({t["type"], std::to_string(t["calls"].get<int>()), tu.cell(t["self_flops"])});
  out += heading("FLOPs by module type (self)", f) + types.render(f);

  const Json& m = d["memory"];
  const Json& fw = d["forward"];
  Table mem({"item", "bytes"}, {L, R});
  mem.add({"weights (stored dtypes)", human_bytes(m["weights"])});
  mem.add({"KV cache per token per sequence (" + m["kv_cache_dtype"].get<std::string>() + ")", human_bytes(m["kv_cache_per_token"])});
  mem.add({fmt::format("KV cache at {} tokens × batch {}", fw["context"].get<int64_t>() + fw["tokens"].get<int64_t>(),
                       fw["batch"].get<int64_t>()),
           human_bytes(m["kv_cache"])});
  mem.add({"SSM state (float32)", human_bytes(m["ssm_state"])});
  mem.add({"conv state (float32)", human_bytes(m["conv_state"])});
  mem.add({"activation peak of this forward (float32)", human_bytes(m["activation_peak"])});
  return out + heading("Memory", f) + mem.render(f);
}

std::string render_tensor_check(const Json& check, Format f) {
  std::string out = heading("Tensor check (NaN / Inf)", f);
  if (check["non_finite"].empty()) out += "every scanned tensor is finite\n";
  Table t({"tensor", "first index", "NaN", "Inf"}, {L, R, R, R});
  for (const auto& b : check["non_finite"])
    t.add({b["name"], with_commas(b["first_index"]), with_commas(b["nans"]), with_commas(b["infs"])});
  if (!t.empty()) out += t.render(f);
  for (const auto& s : check["not_scanned"]) out += fmt::format("not scanned: {}\n", s.get<std::string>());
  return out;
}

std::string weights_line(const Json& d) {
  const Json& s = d["source"];
  if (s["weights"] == "none") return fmt::format("none — shapes from the config, dtype {}", d["model"]["dtype"].get<std::string>());
  return d.contains("tensor_check") ? "checkpoint (tensor data read and scanned for NaN/Inf)"
                                    : "checkpoint headers (no tensor data read)";
}

std::string render_lone(const Json& d, const InspectOptions& o, Format f) {
  const std::string path = d["source"]["path"];
  const std::string title = fmt::format("{} — safetensors, architecture unknown (no config.json beside it: its header is "
                                        "validated and its tensors listed; run, profile and --tokens need the config)", path);
  const std::string out = f == Format::md ? "# " + title + "\n" : title + "\n";
  return out + render_tensors(d, o.max_tensors, f) + render_totals(d, f);
}

}  // namespace

Json inspect_document(const InspectOptions& o, Progress& progress) {
  if (lone_safetensors(o.model)) {
    if (o.tokens > 0 || o.context >= 0) fail(ErrorKind::config, o.model + ": no config.json beside it, so no forward cost (--tokens, --context)");
    if (o.check_tensors) fail(ErrorKind::config, o.model + ": no config.json beside it; --check-tensors needs the model");
    return lone_safetensors_document(o.model);
  }
  const auto copts = cost_options(o);
  models::LoadedModel lm = models::load_model(o.model);
  const analysis::ParamReport r = analysis::count_params(lm.model);
  Json d;
  d["schema"] = "anatomy.inspect/2";
  d["source"] = {{"path", lm.source}, {"format", lm.format}, {"config", lm.config_file},
                 {"weights", lm.has_weights() ? "checkpoint" : "none"}};
  d["model"] = {{"architecture", lm.model.architecture}, {"model_type", lm.model.model_type},
                {"dtype", dtype_info(lm.model.dtype).torch_name}, {"vocab_size", lm.model.root->vocab_size()},
                {"max_positions", lm.model.root->max_positions()}};
  d["config"] = lm.model.config;
  d["params"] = params_json(r);
  if (lm.has_weights())
    d["checkpoint"] = {{"file_bytes", lm.file_bytes}, {"header_bytes_read", lm.header_bytes_read},
                       {"stored_tensors", lm.stored.size()}};
  if (copts) d.update(cost_json(analysis::analyze_cost(lm.model, *copts)));
  if (o.check_tensors) d["tensor_check"] = tensor_check(lm, progress);
  return d;
}

std::string inspect_command(const InspectOptions& o, Progress& progress) {
  const Format f = parse_format(o.format);
  const Json d = inspect_document(o, progress);
  if (f == Format::json) return d.dump(2) + "\n";
  if (d["model"]["architecture"].is_null()) return render_lone(d, o, f);
  const Json& s = d["source"];
  std::string out = f == Format::md ? fmt::format("# {} — {}\n\n", s["path"].get<std::string>(), d["model"]["architecture"].get<std::string>())
                                    : fmt::format("{} — {} ({})\n", s["path"].get<std::string>(),
                                                  d["model"]["architecture"].get<std::string>(), d["model"]["model_type"].get<std::string>());
  out += fmt::format("{}source: {} ({}); config: {}; weights: {}\n", f == Format::md ? "- " : "", s["path"].get<std::string>(),
                     s["format"].get<std::string>(), s["config"].get<std::string>(), weights_line(d));
  out += render_config(d, f) + render_components(d, f) + render_tensors(d, o.max_tensors, f) + render_totals(d, f);
  if (d.contains("forward")) out += render_cost(d, o.depth, f);
  if (d.contains("tensor_check")) out += "\n" + render_tensor_check(d["tensor_check"], f);
  return out;
}

}  // namespace anatomy::cli
