// `anatomy compare A.json B.json [...]`: documents of one kind (bench, profile, eval) side by side,
// each figure with its ratio to the first document's. The comparison is a document of its own
// (anatomy.compare/1); table and md are rendered from it. Figures are read from the documents as
// their commands wrote them, never recomputed.
#include <filesystem>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/render.h"
#include "core/error.h"
#include "report/page.h"

namespace anatomy::cli {
namespace {

using Json = io::ordered_json;

struct Metric {
  std::string name, unit;
  bool higher_is_better = true;
};

// A figure of one document, or nothing when the document has no such figure.
using Reading = std::function<std::optional<double>(const io::json&)>;

std::optional<double> number_at(const io::json& d, const io::json::json_pointer& at) {
  if (!d.contains(at)) return std::nullopt;
  const io::json& v = d.at(at);
  return v.is_number() ? std::optional(v.get<double>()) : std::nullopt;
}

Reading at(const std::string& pointer) {
  return [p = io::json::json_pointer(pointer)](const io::json& d) { return number_at(d, p); };
}

// A figure of the entry of `list` whose `key` equals `value` (bench's prefill lengths).
Reading entry(const std::string& list, const std::string& key, int64_t value, const std::string& field) {
  return [=](const io::json& d) -> std::optional<double> {
    if (!d.contains(list) || !d[list].is_array()) return std::nullopt;
    for (const auto& e : d[list])
      if (e.value(key, int64_t{-1}) == value && e.contains(field) && e[field].is_number()) return e[field].get<double>();
    return std::nullopt;
  };
}

struct Row {
  Metric metric;
  Reading read;
};

// The figures worth comparing for each kind of document, from the lengths and types the
// documents themselves hold.
std::vector<Row> bench_rows(const std::vector<io::json>& docs) {
  std::vector<Row> rows;
  std::vector<int64_t> lengths;
  for (const auto& d : docs)
    for (const auto& e : d.value("prefill", io::json::array()))
      if (std::find(lengths.begin(), lengths.end(), e.value("tokens", int64_t{0})) == lengths.end())
        lengths.push_back(e.value("tokens", int64_t{0}));
  for (int64_t t : lengths) {
    rows.push_back({{fmt::format("pp{} prefill", t), "tok/s", true}, entry("prefill", "tokens", t, "tok_per_s")});
    rows.push_back({{fmt::format("pp{} time to first token", t), "s", false},
                    entry("prefill", "tokens", t, "time_to_first_token_s")});
  }
  rows.push_back({{"decode", "tok/s", true}, at("/decode/tok_per_s")});
  rows.push_back({{"decode latency, median", "ms", false}, at("/decode/latency_median_ms")});
  rows.push_back({{"decode latency, p90", "ms", false}, at("/decode/latency_p90_ms")});
  rows.push_back({{"workload", "sequences/s", true}, at("/workload/sequences_per_s")});
  rows.push_back({{"peak RSS", "bytes", false}, at("/peak_rss_bytes")});
  return rows;
}

std::vector<Row> profile_rows(const std::vector<io::json>& docs) {
  std::vector<Row> rows = {
      {{"forward, median", "ms", false}, at("/timing/forward_ms/median")},
      {{"throughput", "tok/s", true}, at("/timing/tokens_per_s")},
      {{"achieved", "GFLOP/s", true}, at("/flops/gflops_per_s")},
      {{"of the GEMM ceiling", "%", true}, at("/flops/pct_of_peak")},
      {{"profiler overhead", "%", false}, at("/timing/overhead_pct")},
  };
  // Self time per module type, in the first document's order.
  for (const auto& t : docs[0].value("types", io::json::array())) {
    const std::string type = t.value("type", "");
    rows.push_back({{type + " self time", "ms", false}, [type](const io::json& d) -> std::optional<double> {
                      for (const auto& e : d.value("types", io::json::array()))
                        if (e.value("type", "") == type && e["self_ms"].is_number()) return e["self_ms"].get<double>();
                      return std::nullopt;
                    }});
  }
  return rows;
}

std::vector<Row> eval_rows(const std::vector<io::json>&) {
  return {{{"perplexity", "", false}, at("/ppl")},
          {{"mean NLL", "nats/token", false}, at("/nll")},
          {{"bits per byte", "bits", false}, at("/bits_per_byte")},
          {{"tokens scored", "", true}, at("/tokens_scored")},
          {{"time", "s", false}, at("/seconds")}};
}

// A report holds its profile, bench and eval documents: their headline figures, plus the model's size.
std::vector<Row> report_rows(const std::vector<io::json>&) {
  return {{{"parameters (unique)", "", false}, at("/inspect/params/total")},
          {{"weights", "bytes", false}, at("/inspect/params/bytes")},
          {{"FLOPs per forward", "FLOP", false}, at("/inspect/flops/total")},
          {{"forward, median", "ms", false}, at("/profile/timing/forward_ms/median")},
          {{"achieved", "GFLOP/s", true}, at("/profile/flops/gflops_per_s")},
          {{"of the GEMM ceiling", "%", true}, at("/profile/flops/pct_of_peak")},
          {{"prefill", "tok/s", true}, at("/bench/prefill/0/tok_per_s")},
          {{"decode", "tok/s", true}, at("/bench/decode/tok_per_s")},
          {{"workload", "sequences/s", true}, at("/bench/workload/sequences_per_s")},
          {{"perplexity", "", false}, at("/eval/ppl")},
          {{"best validation loss", "nats/token", false}, at("/training/best_val_loss")}};
}

struct Kind {
  const char* schema;
  const char* name;
  std::vector<Row> (*rows)(const std::vector<io::json>&);
  const char* required;  // a figure every document of the kind has: without it, the file is not one
};
constexpr Kind kKinds[] = {{"anatomy.bench/1", "bench", bench_rows, "/prefill"},
                           {"anatomy.profile/1", "profile", profile_rows, "/timing/forward_ms/median"},
                           {"anatomy.eval/1", "eval", eval_rows, "/ppl"},
                           {"anatomy.report/1", "report", report_rows, "/inspect/params/total"}};

const Kind& kind_of(const io::json& d, const std::string& file) {
  if (!d.is_object() || !d.contains("schema") || !d["schema"].is_string())
    fail_at(ErrorKind::format, file, "schema", "not an anatomy document (bench, profile, eval or report JSON)");
  const std::string schema = d["schema"];
  for (const Kind& k : kKinds)
    if (schema == k.schema) {
      if (!d.contains(io::json::json_pointer(k.required)))
        fail_at(ErrorKind::format, file, k.required + 1, fmt::format("missing: not a complete {} document", k.schema));
      return k;
    }
  fail_at(ErrorKind::unsupported, file, "schema", fmt::format("'{}' cannot be compared (anatomy.bench/1, anatomy.profile/1, "
                                                               "anatomy.eval/1, anatomy.report/1)", schema));
}

// "model (device, weights)" as the document states them.
std::string label(const io::json& d, const std::string& file) {
  std::string what = d.contains("model") && d["model"].is_string() ? d["model"].get<std::string>()
                     : d.contains(io::json::json_pointer("/model/name"))  ? d["model"]["name"].get<std::string>()
                                                                        : std::filesystem::path(file).filename().string();
  std::vector<std::string> facts;
  if (d.contains("engine") && d["engine"].is_string()) facts.push_back(d["engine"]);  // a peer's document (docs/bench.md)
  for (const char* key : {"device", "dtype"})
    if (d.contains(key) && d[key].is_string()) facts.push_back(d[key]);
  if (d.contains(io::json::json_pointer("/options/weights_dtype"))) facts.push_back(d["options"]["weights_dtype"]);
  if (d.contains(io::json::json_pointer("/machine/gpu"))) facts.push_back(d["machine"]["gpu"]);
  else if (d.contains(io::json::json_pointer("/machine/cpu"))) facts.push_back(d["machine"]["cpu"]);
  for (const char* at : {"/threads", "/options/threads"})
    if (d.contains(io::json::json_pointer(at)) && d.at(io::json::json_pointer(at)).is_number() && d.value("device", "cpu") == "cpu")
      facts.push_back(fmt::format("{} thread{}", d.at(io::json::json_pointer(at)).get<int64_t>(),
                                  d.at(io::json::json_pointer(at)).get<int64_t>() == 1 ? "" : "s"));
  std::string joined;
  for (const auto& f : facts) joined += (joined.empty() ? "" : ", ") + f;
  return joined.empty() ? what : fmt::format("{} ({})", what, joined);
}

}  // namespace

Json compare_document(const CompareOptions& o) {
  if (o.files.size() < 2) fail(ErrorKind::config, "compare: give two or more JSON documents");
  std::vector<io::json> docs;
  for (const auto& f : o.files) docs.push_back(io::load_json_file(f));
  const Kind& kind = kind_of(docs[0], o.files[0]);
  for (size_t i = 1; i < docs.size(); ++i)
    if (&kind_of(docs[i], o.files[i]) != &kind)
      fail_at(ErrorKind::config, o.files[i], "schema",
              fmt::format("is {} but {} is {}: compare documents of one kind", docs[i]["schema"].get<std::string>(), o.files[0],
                          kind.schema));
  Json documents = Json::array();
  for (size_t i = 0; i < docs.size(); ++i) documents.push_back({{"file", o.files[i]}, {"label", label(docs[i], o.files[i])}});
  Json metrics = Json::array();
  for (const Row& r : kind.rows(docs)) {
    Json values = Json::array(), ratios = Json::array();
    const std::optional<double> base = r.read(docs[0]);
    bool any = false;
    for (const auto& d : docs) {
      const std::optional<double> v = r.read(d);
      any |= v.has_value();
      values.push_back(v ? Json(*v) : Json(nullptr));
      ratios.push_back(v && base && *base != 0 ? Json(*v / *base) : Json(nullptr));
    }
    if (!any) continue;  // no document measured it
    metrics.push_back({{"name", r.metric.name}, {"unit", r.metric.unit},
                       {"better", r.metric.higher_is_better ? "higher" : "lower"}, {"values", values},
                       {"ratios_to_first", ratios}});
  }
  return {{"schema", "anatomy.compare/1"}, {"kind", kind.name}, {"documents", documents}, {"metrics", metrics}};
}

std::string compare_command(const CompareOptions& o) {
  const Json d = compare_document(o);
  if (o.format == "html") return report::render_compare_html(d);
  const Format f = parse_format(o.format);
  if (f == Format::json) return d.dump(2) + "\n";
  const size_t n = d["documents"].size();
  std::vector<std::string> headers = {"figure", "unit", "better"};
  std::vector<Table::Align> align = {Table::Align::left, Table::Align::left, Table::Align::left};
  for (size_t i = 0; i < n; ++i) {
    headers.push_back(fmt::format("[{}]", i + 1));
    align.push_back(Table::Align::right);
  }
  for (size_t i = 1; i < n; ++i) {
    headers.push_back(fmt::format("[{}]/[1]", i + 1));
    align.push_back(Table::Align::right);
  }
  Table t(headers, align);
  for (const auto& m : d["metrics"]) {
    std::vector<std::string> row = {m["name"], m["unit"], m["better"]};
    for (const auto& v : m["values"]) row.push_back(v.is_null() ? "—" : fmt::format("{:.4g}", v.get<double>()));
    for (size_t i = 1; i < n; ++i) {
      const auto& r = m["ratios_to_first"][i];
      row.push_back(r.is_null() ? "—" : fmt::format("{:.3f}×", r.get<double>()));
    }
    t.add(row);
  }
  std::string out = heading(fmt::format("Comparison of {} {} documents", n, d["kind"].get<std::string>()), f);
  for (size_t i = 0; i < n; ++i)
    out += fmt::format("{}[{}] {}: {}\n", f == Format::md ? "- " : "", i + 1, d["documents"][i]["label"].get<std::string>(),
                       d["documents"][i]["file"].get<std::string>());
  return out + "\n" + t.render(f);
}

}  // namespace anatomy::cli
