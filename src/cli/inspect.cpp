// `anatomy inspect MODEL`: config with every derived value, per-component parameter arithmetic,
// per-tensor table, totals and bytes by dtype. Headers only; the JSON schema is docs/inspect.md.
#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "analysis/cost.h"
#include "analysis/guards.h"
#include "analysis/params.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "core/error.h"
#include "models/loader.h"

namespace anatomy::cli {
namespace {

using io::ordered_json;

std::string cell(const ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:g}", v.get<double>());
  return v.dump();
}

ordered_json to_json(const models::LoadedModel& lm, const analysis::ParamReport& r) {
  ordered_json j;
  j["schema"] = "anatomy.inspect/1";
  j["source"] = {{"path", lm.source}, {"format", lm.format}, {"config", lm.config_file},
                 {"weights", lm.has_weights() ? "checkpoint" : "none (config only)"}};
  j["model"] = {{"architecture", lm.model.architecture}, {"model_type", lm.model.model_type},
                {"dtype", dtype_info(lm.model.dtype).torch_name}};
  j["config"] = lm.model.config;
  ordered_json tensors = ordered_json::array();
  for (const auto& t : r.tensors) {
    ordered_json e = {{"name", t.name}, {"shape", t.shape}, {"dtype", dtype_name(t.dtype)},
                      {"count", t.count}, {"bytes", t.tied_to.empty() ? t.bytes : 0}};
    if (!t.tied_to.empty()) e["tied_to"] = t.tied_to;
    if (!t.aliases.empty()) e["aliases"] = t.aliases;
    tensors.push_back(e);
  }
  ordered_json by_dtype = ordered_json::object();
  for (const auto& [name, d] : r.by_dtype) by_dtype[name] = {{"count", d.count}, {"bytes", d.bytes}};
  ordered_json comps = ordered_json::array();
  for (const auto& c : r.components) {
    ordered_json e = {{"name", c.name}, {"type", c.type}, {"formula", c.formula}, {"params", c.params},
                      {"depth", c.depth}};
    if (!c.note.empty()) e["note"] = c.note;
    comps.push_back(e);
  }
  j["params"] = {{"total", r.total},          {"total_with_tied", r.total_with_tied},
                 {"bytes", r.bytes},          {"by_dtype", by_dtype},
                 {"components", comps},       {"tensors", tensors}};
  if (lm.has_weights())
    j["checkpoint"] = {{"file_bytes", lm.file_bytes}, {"header_bytes_read", lm.header_bytes_read},
                       {"stored_tensors", lm.stored.size()}};
  return j;
}

constexpr const char* kConventions =
    "multiply-add = 2 FLOPs; attention QKᵀ and P·V over the full T×Tk rectangle; SSM in its recurrent form "
    "B·T·H·(5PN+3P); depthwise conv 2·B·T·C·K; total = linear + attention + ssm + conv + head; norms (4 or 8 "
    "per element, gated norm 6), activations, softmax (5 per score), bias and residual adds (1 per element) "
    "are listed apart as conventions";

std::string gflop(double f) { return fmt::format("{:.3f}", f / 1e9); }

std::string forward_title(const analysis::CostOptions& o) {
  const std::string logits = o.last_logits ? "last position" : fmt::format("all {} positions", o.tokens);
  if (o.context > 0 && o.tokens == 1)
    return fmt::format("decode step after {} cached tokens (batch {}, logits for the last position)", o.context, o.batch);
  if (o.context > 0)
    return fmt::format("prefill of {} tokens after {} cached (batch {}, logits for {})", o.tokens, o.context, o.batch, logits);
  return fmt::format("prefill of {} tokens (batch {}, logits for {})", o.tokens, o.batch, logits);
}

ordered_json cost_json(const analysis::CostReport& c) {
  ordered_json by_class = ordered_json::object();
  for (int i = 0; i < ops::kOpClasses; ++i) by_class[ops::op_class_name(static_cast<ops::OpClass>(i))] = c.by_class[i];
  ordered_json by_type = ordered_json::array();
  for (const auto& [type, v] : c.by_type) by_type.push_back({{"type", type}, {"calls", v.first}, {"self_flops", v.second}});
  ordered_json modules = ordered_json::array();
  for (const auto& m : c.modules)
    modules.push_back({{"name", m.path}, {"type", m.type}, {"depth", m.depth}, {"input_shape", m.input},
                       {"output_shape", m.output}, {"params", m.params}, {"flops", m.flops},
                       {"self_flops", m.self_flops}, {"bytes", m.bytes}});
  const auto& mem = c.memory;
  return {{"forward", {{"batch", c.options.batch}, {"tokens", c.options.tokens}, {"context", c.options.context},
                       {"logits", c.options.last_logits ? "last" : "all"}, {"description", forward_title(c.options)}}},
          {"flops", {{"total", c.total}, {"elementwise", c.elementwise}, {"total_with_elementwise", c.total + c.elementwise},
                     {"by_class", by_class}, {"by_type", by_type}, {"conventions", kConventions}}},
          {"modules", modules},
          {"memory", {{"weights", mem.weights}, {"kv_cache_dtype", mem.kv_dtype},
                      {"kv_cache_per_token", mem.kv_cache_per_token}, {"kv_cache", mem.kv_cache},
                      {"ssm_state", mem.ssm_state}, {"conv_state", mem.conv_state},
                      {"state_dtype", "float32"}, {"activation_peak", mem.activation_peak},
                      {"activation_dtype", "float32"}}}};
}

std::string render_cost(const analysis::CostReport& c, int depth, Format f) {
  using A = Table::Align;
  std::string out = heading("Forward cost: " + forward_title(c.options), f);
  Table mods({"layer (type (name))", "input shape", "output shape", "params", "GFLOP"},
             {A::left, A::left, A::left, A::right, A::right});
  for (const auto& m : c.modules) {
    if (m.depth > depth) continue;
    const std::string leaf = m.path.substr(m.path.rfind('.') == std::string::npos ? 0 : m.path.rfind('.') + 1);
    const std::string indent = m.depth == 0 ? "" : std::string(static_cast<size_t>(2 * (m.depth - 1)), ' ') + "└─";
    mods.add({indent + m.type + (leaf.empty() ? "" : " (" + leaf + ")"), shape_str(m.input), shape_str(m.output),
              m.params ? with_commas(m.params) : "--", gflop(m.flops)});
  }
  out += mods.render(f);
  out += fmt::format("(modules deeper than {} levels are in --format json; --depth N shows more)\n", depth);

  out += heading("FLOPs by class", f);
  Table cls({"class", "GFLOP", "share"}, {A::left, A::right, A::right});
  const double all = c.total + c.elementwise;
  for (int i = 0; i < ops::kOpClasses; ++i)
    if (c.by_class[i] > 0)
      cls.add({ops::op_class_name(static_cast<ops::OpClass>(i)), gflop(c.by_class[i]),
               fmt::format("{:.2f} %", 100 * c.by_class[i] / all)});
  cls.add({"total (linear + attention + ssm + conv + head)", gflop(c.total), fmt::format("{:.2f} %", 100 * c.total / all)});
  cls.add({"norms and elementwise (conventions)", gflop(c.elementwise), fmt::format("{:.2f} %", 100 * c.elementwise / all)});
  out += cls.render(f) + "Conventions: " + kConventions + ".\n";

  out += heading("FLOPs by module type (self)", f);
  Table types({"type", "calls", "GFLOP"}, {A::left, A::right, A::right});
  for (const auto& [type, v] : c.by_type)
    if (v.second > 0) types.add({type, std::to_string(v.first), gflop(v.second)});
  out += types.render(f);

  out += heading("Memory", f);
  const auto& m = c.memory;
  Table mem({"item", "bytes"}, {A::left, A::right});
  mem.add({"weights (stored dtypes)", human_bytes(m.weights)});
  mem.add({"KV cache per token per sequence (" + m.kv_dtype + ")", human_bytes(m.kv_cache_per_token)});
  mem.add({fmt::format("KV cache at {} tokens × batch {}", c.options.context + c.options.tokens, c.options.batch),
           human_bytes(m.kv_cache)});
  mem.add({"SSM state (float32)", human_bytes(m.ssm_state)});
  mem.add({"conv state (float32)", human_bytes(m.conv_state)});
  mem.add({"activation peak of this forward (float32)", human_bytes(m.activation_peak)});
  out += mem.render(f);
  return out;
}

std::string render_text(const models::LoadedModel& lm, const analysis::ParamReport& r,
                        const InspectOptions& o, Format f) {
  using A = Table::Align;
  std::string out;
  const auto& m = lm.model;
  out += f == Format::md ? fmt::format("# {} — {}\n\n", lm.source, m.architecture)
                         : fmt::format("{} — {} ({})\n", lm.source, m.architecture, m.model_type);
  out += fmt::format("{}source: {} ({}); config: {}; weights: {}\n", f == Format::md ? "- " : "", lm.source,
                     lm.format, lm.config_file,
                     lm.has_weights() ? "checkpoint headers (no tensor data read)"
                                      : fmt::format("none — shapes from the config, dtype {}", dtype_name(m.dtype)));

  out += heading("Config", f);
  Table cfg({"field", "value"});
  cfg.add({"architecture", m.architecture});
  cfg.add({"model_type", m.model_type});
  for (const auto& [k, v] : m.config.items()) cfg.add({k, cell(v)});
  out += cfg.render(f);

  out += heading("Parameters by component", f);
  Table comp({"component", "type", "formula", "params", "note"}, {A::left, A::left, A::left, A::right, A::left});
  for (const auto& c : r.components)
    comp.add({std::string(c.depth * 2, ' ') + c.name, c.type, c.formula, with_commas(c.params), c.note});
  comp.add({"total (unique)", "", "", with_commas(r.total), ""});
  out += comp.render(f);

  out += heading("Tensors", f);
  Table tens({"#", "name", "shape", "count", "size", "dtype", "tied / shared"},
             {A::right, A::left, A::left, A::right, A::right, A::left, A::left});
  size_t i = 0;
  for (const auto& t : r.tensors) {
    if (o.max_tensors && i >= o.max_tensors) break;
    std::string note = t.tied_to.empty() ? "" : "tied to " + t.tied_to;
    if (!t.aliases.empty()) note = fmt::format("shared: also at {} other paths", t.aliases.size());
    tens.add({std::to_string(++i), t.name, shape_str(t.shape), with_commas(t.count),
              t.tied_to.empty() ? short_bytes(t.bytes) : "0 (tied)", dtype_name(t.dtype), note});
  }
  out += tens.render(f);
  if (o.max_tensors && r.tensors.size() > o.max_tensors)
    out += fmt::format("… {} more tensors (--max-tensors 0 shows all)\n", r.tensors.size() - o.max_tensors);

  out += heading("Totals", f);
  Table tot({"measure", "value"}, {A::left, A::right});
  tot.add({"parameters (unique storages)", with_commas(r.total)});
  tot.add({"parameters, torchinfo-style (tied counted again)", with_commas(r.total_with_tied)});
  tot.add({"of which tied duplicates", with_commas(r.total_with_tied - r.total)});
  tot.add({"weights size (stored dtypes)", human_bytes(r.bytes)});
  if (lm.has_weights()) {
    tot.add({"checkpoint files", human_bytes(lm.file_bytes)});
    tot.add({"header bytes read", with_commas(lm.header_bytes_read)});
  }
  out += tot.render(f);

  out += heading("Bytes by dtype", f);
  Table dt({"dtype", "parameters", "bytes"}, {A::left, A::right, A::right});
  for (const auto& [name, d] : r.by_dtype) dt.add({name, with_commas(d.count), human_bytes(d.bytes)});
  out += dt.render(f);
  return out;
}

std::optional<analysis::CostOptions> cost_options(const InspectOptions& o) {
  if (o.tokens == 0 && o.context < 0) return std::nullopt;
  analysis::CostOptions c;
  c.batch = o.batch;
  c.context = std::max<int64_t>(o.context, 0);
  c.tokens = o.tokens > 0 ? o.tokens : 1;
  if (o.logits.empty()) c.last_logits = o.context >= 0 && o.tokens == 0;
  else if (o.logits == "last" || o.logits == "all") c.last_logits = o.logits == "last";
  else fail(ErrorKind::config, "--logits: '" + o.logits + "' is not one of all, last");
  if (c.batch < 1 || o.tokens < 0) fail(ErrorKind::config, "--batch and --tokens must be positive");
  return c;
}

// --check-tensors: the weights are mapped and every float tensor scanned for NaN and Inf.
ordered_json tensor_check(models::LoadedModel& lm) {
  if (!lm.has_weights()) fail(ErrorKind::config, "--check-tensors: " + lm.source + " has no weights to check");
  models::map_weights(lm);
  std::vector<std::string> skipped;
  const auto bad = analysis::check_tensors(lm.model, &skipped);
  ordered_json rows = ordered_json::array();
  for (const auto& b : bad) rows.push_back({{"name", b.name}, {"first_index", b.first_index}, {"nans", b.nans}, {"infs", b.infs}});
  return {{"non_finite", rows}, {"not_scanned", skipped}};
}

std::string render_tensor_check(const ordered_json& check, Format f) {
  std::string out = heading("Tensor check (NaN / Inf)", f);
  if (check["non_finite"].empty()) out += "every scanned tensor is finite\n";
  Table t({"tensor", "first index", "NaN", "Inf"}, {Table::Align::left, Table::Align::right, Table::Align::right, Table::Align::right});
  for (const auto& b : check["non_finite"])
    t.add({b["name"], with_commas(b["first_index"]), with_commas(b["nans"]), with_commas(b["infs"])});
  if (!t.empty()) out += t.render(f);
  for (const auto& s : check["not_scanned"]) out += fmt::format("not scanned: {}\n", s.get<std::string>());
  return out;
}

}  // namespace

std::string inspect_command(const InspectOptions& o) {
  const Format f = parse_format(o.format);
  const auto copts = cost_options(o);
  models::LoadedModel lm = models::load_model(o.model);
  const analysis::ParamReport r = analysis::count_params(lm.model);
  std::optional<analysis::CostReport> cost;
  if (copts) cost = analysis::analyze_cost(lm.model, *copts);
  std::optional<ordered_json> check;
  if (o.check_tensors) check = tensor_check(lm);
  if (f == Format::json) {
    ordered_json j = to_json(lm, r);
    if (cost) j.update(cost_json(*cost));
    if (check) j["tensor_check"] = *check;
    return j.dump(2) + "\n";
  }
  std::string out = render_text(lm, r, o, f);
  if (cost) out += render_cost(*cost, o.depth, f);
  if (check) out += fmt::format("\n{}", render_tensor_check(*check, f));
  return out;
}

}  // namespace anatomy::cli
