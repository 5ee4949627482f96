// `anatomy report MODEL`: gathers the documents the other commands make (inspect's meta run,
// profile, bench, eval, and the training run's log and recipe) into one anatomy.report/1 document,
// then renders it as Markdown, charts (PNG + SVG) and with --html one offline page, in one language.
// Files are written into a temporary folder beside DIR and moved into DIR only when all exist.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "analysis/device.h"
#include "backend/device.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/text_file.h"
#include "models/loader.h"
#include "report/charts.h"
#include "report/diagram.h"
#include "report/page.h"

namespace anatomy::cli {

namespace fs = std::filesystem;
using Json = io::ordered_json;

namespace {

std::vector<std::string> chosen_sections(const std::vector<std::string>& asked) {
  const auto& all = report::section_names();
  if (asked.empty()) return all;
  for (const auto& s : asked)
    if (std::find(all.begin(), all.end(), s) == all.end())
      fail(ErrorKind::config, fmt::format("--sections: unknown section '{}' ({})", s, fmt::join(all, ", ")));
  std::vector<std::string> out;
  for (const auto& s : all)
    if (std::find(asked.begin(), asked.end(), s) != asked.end()) out.push_back(s);
  return out;
}

bool wants(const std::vector<std::string>& sections, std::initializer_list<const char*> any) {
  for (const char* s : any)
    if (std::find(sections.begin(), sections.end(), s) != sections.end()) return true;
  return false;
}

// The training run that made the model: --train-log DIR, or the folder above a DIR/best or
// DIR/last checkpoint that `anatomy train` wrote (it holds log.jsonl).
std::string training_dir(const ReportOptions& o) {
  if (!o.train_log.empty()) {
    if (!fs::is_regular_file(fs::path(o.train_log) / "log.jsonl"))
      fail(ErrorKind::io, o.train_log + ": --train-log: no log.jsonl here (give the --out folder of `anatomy train`)");
    return o.train_log;
  }
  const fs::path model(o.model);
  if (fs::is_regular_file(model / "trainer_state.json") && fs::is_regular_file(model.parent_path() / "log.jsonl"))
    return model.parent_path().string();
  return "";
}

// The run's recipe and best checkpoint (best/, or last/ when no evaluation made one), its step
// count (last/), and every line of its log.
Json read_training(const std::string& dir) {
  const fs::path root(dir);
  const auto state_of = [&](const char* first, const char* second) {
    const fs::path a = root / first / "trainer_state.json", b = root / second / "trainer_state.json";
    if (fs::is_regular_file(a)) return a;
    if (fs::is_regular_file(b)) return b;
    fail(ErrorKind::io, dir + ": no best/ or last/ checkpoint with trainer_state.json");
  };
  const fs::path best_file = state_of("best", "last"), last_file = state_of("last", "best"), log_file = root / "log.jsonl";
  const io::json best = io::load_json_file(best_file.string()), last = io::load_json_file(last_file.string());
  Json t;
  try {
    const io::json& recipe = best.at("recipe");
    t = {{"dir", dir}, {"recipe", recipe}, {"step", last.at("step")}, {"best_step", best.at("best_step")},
         {"best_val_loss", best.at("best_val_loss")}, {"best_val_ppl", std::exp(best.at("best_val_loss").get<double>())},
         {"skipped_steps", last.at("skipped_steps")},
         {"tokens_per_step", recipe.at("batch").get<int64_t>() * recipe.at("block").get<int64_t>() * recipe.at("accum").get<int64_t>()},
         {"loss", "cross_entropy"}};
    if (best.contains("data")) t["data"] = best["data"];
  } catch (const io::json::exception& e) {
    fail_at(ErrorKind::format, best_file.string(), "trainer_state", e.what());
  }
  Json log = Json::array();
  std::ifstream in(log_file);
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    try {
      log.push_back(Json(io::parse_json(line, log_file.string())));
    } catch (Error& e) {
      throw e.with_context(fmt::format("line {} of {}", n, log_file.string()));
    }
  }
  t["log"] = log;
  return t;
}

std::vector<int64_t> scaling_lengths(int64_t tokens) {
  std::vector<int64_t> out;
  for (int64_t t = 8; t < tokens; t *= 2) out.push_back(t);
  out.push_back(tokens);
  return out;
}

std::string now_utc() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

void omit(Json& d, const std::string& section, const std::string& reason) {
  d["omitted"].push_back({{"section", section}, {"reason", reason}});
}

}  // namespace

Json report_document(const ReportOptions& o, Progress& progress) {
  report::parse_lang(o.lang);
  const std::vector<std::string> sections = chosen_sections(o.sections);
  const int64_t context = models::load_model(o.model).model.root->max_positions();  // the config alone, no meta run
  const int64_t tokens = o.tokens > 0 ? o.tokens : context > 0 ? std::min<int64_t>(128, context) : 128;
  if (context > 0 && tokens > context)
    fail(ErrorKind::config, fmt::format("--tokens: {} is beyond the model's {} positions", tokens, context));
  Json d = {{"schema", "anatomy.report/1"}, {"anatomy", {{"version", kVersion}, {"build", ANATOMY_BUILD_TYPE}}},
            {"command", o.command}, {"created", now_utc()}, {"lang", o.lang}, {"sections", sections}, {"omitted", Json::array()}};
  d["inspect"] = inspect_document({.model = o.model, .format = "json", .tokens = tokens}, progress);
  d["model"] = {{"name", o.model}, {"architecture", d["inspect"]["model"]["architecture"]}, {"source", d["inspect"]["source"]},
                {"weights", {{"ran", false}, {"source", d["inspect"]["source"]["path"]}}}};
  // The stack's depth and width: layers of every kind, and the hidden size a layer outputs.
  int64_t layers = 0, hidden = 0;
  for (const auto& c : d["inspect"]["params"]["components"]) {
    if (c["kind"] != "layer" || c["depth"] != 0) continue;
    layers += c["layers"]["count"].get<int64_t>();
    for (const auto& m : d["inspect"]["modules"])
      if (hidden == 0 && m["name"] == c["name"] && m.contains("output_shape")) hidden = m["output_shape"].back().get<int64_t>();
  }
  d["model"]["layers"] = layers;
  d["model"]["hidden_size"] = hidden;
  d["model"]["tokens"] = tokens;
  const analysis::Processor cpu = analysis::detect_processor();
  d["machine"] = {{"cpu", cpu.model}, {"logical_cpus", cpu.logical_cpus}, {"isa", cpu.isa}, {"kernel_isa", backend::kernel_isa()}};

  // The summary repeats what the sections measured: the profile whenever it is asked for, the
  // benchmark only when its section is (so a report of the seed 002/003 kind runs no generation).
  if (o.meta) {
    for (const char* s : {"profile", "bench", "eval"})
      if (wants(sections, {s})) omit(d, s, "meta");
  }
  if (!o.meta && wants(sections, {"summary", "profile"})) {
    d["profile"] = profile_document({.model = o.model, .tokens = tokens, .warmup = o.warmup, .repeat = o.repeat, .threads = o.threads,
                                     .device = o.device, .random_weights = o.random_weights, .seed = o.seed, .format = "json",
                                     .force = o.force},
                                    progress);
    const bool synthetic = d["profile"].value("synthetic_weights", false);
    d["model"]["weights"] = {{"ran", true}, {"synthetic", synthetic}, {"seed", o.seed}, {"dtype", d["profile"]["options"]["weights_dtype"]},
                             {"source", d["inspect"]["source"]["path"]}, {"description", d["profile"]["weights"]}};
  }
  if (!o.meta && wants(sections, {"bench"})) {
    // Generation: half the length as the prompt, as many new tokens (at most 32 each), within the context.
    const int64_t prompt = std::max<int64_t>(1, std::min<int64_t>(32, tokens / 2));
    const int64_t fresh = std::max<int64_t>(1, std::min({int64_t{32}, tokens - prompt, (context > 0 ? context : 1 << 20) - prompt}));
    d["bench"] = bench_document({.model = o.model, .prefill = {tokens}, .decode_tokens = fresh, .warmup = o.warmup, .repeat = o.repeat,
                                 .threads = o.threads, .device = o.device, .random_weights = o.random_weights, .seed = o.seed,
                                 .scaling = scaling_lengths(tokens), .workload = {prompt, fresh, 1}, .format = "json", .force = o.force},
                                progress);
  }
  if (wants(sections, {"summary", "eval"}) && !o.meta) {
    if (d.contains("profile") && d["profile"].value("synthetic_weights", false)) omit(d, "eval", "synthetic_weights");
    else if (o.text.empty()) omit(d, "eval", "no_text");
    else
      d["eval"] = eval_document({.model = o.model, .tokenizer = o.tokenizer, .text_file = o.text, .random_weights = o.random_weights,
                                 .seed = o.seed, .format = "json", .threads = o.threads, .device = o.device, .force = o.force},
                                progress);
  }
  if (wants(sections, {"summary", "training"})) {
    const std::string dir = training_dir(o);
    if (dir.empty()) omit(d, "training", "not_trained");
    else d["training"] = read_training(dir);
  }
  // Only the sections asked for say why they are missing.
  Json omitted = Json::array();
  for (const auto& e : d["omitted"])
    if (wants(sections, {e["section"].get<std::string>().c_str()})) omitted.push_back(e);
  d["omitted"] = omitted;
  d["diagram"] = {{"mermaid", report::mermaid_diagram(d["inspect"])}, {"flow", report::data_flow(d["inspect"])}};
  Json charts = Json::array();
  for (const auto& c : report::chart_specs(d))
    charts.push_back({{"name", c.name}, {"png", "charts/" + c.name + ".png"}, {"svg", "charts/" + c.name + ".svg"}});
  d["charts"] = charts;
  return d;
}

namespace {

// MODEL is a report.json made earlier: render it again (another language, other sections) without
// measuring anything.
std::optional<Json> earlier_report(const ReportOptions& o) {
  if (fs::path(o.model).extension() != ".json" || !fs::is_regular_file(o.model)) return std::nullopt;
  Json d = io::load_json_file(o.model);
  if (!d.is_object() || d.value("schema", std::string()) != "anatomy.report/1") return std::nullopt;
  for (const char* key : {"inspect", "sections", "omitted", "machine", "model", "diagram", "charts"})
    if (!d.contains(key)) fail_at(ErrorKind::format, o.model, key, "missing from this anatomy.report/1 document");
  if (!o.sections.empty()) {
    Json kept = Json::array();
    for (const auto& s : chosen_sections(o.sections)) {
      if (std::find(d["sections"].begin(), d["sections"].end(), s) == d["sections"].end())
        fail_at(ErrorKind::config, o.model, "sections", "has no section '" + s + "': make the report again with it");
      kept.push_back(s);
    }
    d["sections"] = kept;
  }
  d["lang"] = o.lang;
  return d;
}

}  // namespace

std::string report_command(const ReportOptions& o, Progress& progress) {
  const report::Catalog catalog(report::parse_lang(o.lang));
  const std::optional<Json> earlier = earlier_report(o);
  const Json d = earlier ? *earlier : report_document(o, progress);
  report::Rendering rendering;
  try {
    rendering = report::render(d, catalog, o.html);
  } catch (Error& e) {
    throw e.with_context("while rendering " + (earlier ? o.model : std::string("the report")));
  }
  const fs::path out(o.out);
  if (fs::exists(out) && !fs::is_directory(out)) fail(ErrorKind::io, o.out + ": --out: exists and is not a folder");
  const fs::path tmp = fs::path(out.string() + fmt::format(".partial-{}", getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp / "charts");
  std::vector<std::string> files = {"report.json", "report.md"};
  try {
    write_text_file((tmp / "report.json").string(), d.dump(2) + "\n");
    write_text_file((tmp / "report.md").string(), rendering.markdown);
    if (o.html) {
      write_text_file((tmp / "report.html").string(), rendering.html);
      files.push_back("report.html");
    }
    for (const auto& c : rendering.charts) {
      report::write_chart(c, catalog, (tmp / "charts").string());
      files.push_back("charts/" + c.name + ".png");
      files.push_back("charts/" + c.name + ".svg");
    }
    fs::create_directories(out / "charts");
    for (const auto& f : files) fs::rename(tmp / f, out / f);
    fs::remove_all(tmp);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
  std::string text;
  for (const auto& f : files) text += (out / f).string() + "\n";
  return text;
}

}  // namespace anatomy::cli
