// `anatomy inspect MODEL`: config with every derived value, per-component parameter arithmetic,
// per-tensor table, totals and bytes by dtype. Headers only; the JSON schema is docs/inspect.md.
#include <fmt/format.h>

#include "analysis/params.h"
#include "cli/commands.h"
#include "cli/render.h"
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

}  // namespace

std::string inspect_command(const InspectOptions& o) {
  const Format f = parse_format(o.format);
  const models::LoadedModel lm = models::load_model(o.model);
  const analysis::ParamReport r = analysis::count_params(lm.model);
  if (f == Format::json) return to_json(lm, r).dump(2) + "\n";
  return render_text(lm, r, o, f);
}

}  // namespace anatomy::cli
