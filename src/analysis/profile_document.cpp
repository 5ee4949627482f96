// profile_document: joins measured times to executed FLOPs and bytes, and divides by the ceilings.
// Per module the self figures are used (time, FLOPs and bytes of its own ops, children excluded),
// so that rows add up; blocks use inclusive figures (and, besides their % of the GEMM peak, the
// same roofline bound and ceiling as modules: a decode step's blocks are memory-bound).
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "analysis/profile.h"
#include "backend/device.h"

namespace anatomy::analysis {
namespace {

constexpr double kMs = 1e3;

io::ordered_json stats_json(const Stats& s) {
  return {{"median", s.median * kMs}, {"p10", s.p10 * kMs}, {"p90", s.p90 * kMs}, {"min", s.min * kMs},
          {"max", s.max * kMs}, {"spread_pct", s.median > 0 ? 100.0 * (s.p90 - s.p10) / s.median : 0.0}};
}

io::ordered_json ms_list(const std::vector<double>& s) {
  io::ordered_json j = io::ordered_json::array();
  for (double v : s) j.push_back(v * kMs);
  return j;
}

io::ordered_json class_json(const ClassFlops& f) {
  io::ordered_json j = io::ordered_json::object();
  for (int c = 0; c < ops::kOpClasses; ++c) j[ops::op_class_name(static_cast<ops::OpClass>(c))] = f[static_cast<size_t>(c)];
  return j;
}

// Roofline: a module whose FLOPs per byte are below the machine balance cannot beat the memory
// ceiling; its efficiency is bytes/s over bandwidth, otherwise FLOP/s over the GEMM peak.
struct Efficiency {
  const char* bound;
  double pct;
};
Efficiency efficiency(double flops, double bytes, double s, double peak_flops, double bandwidth) {
  if (s <= 0 || (flops <= 0 && bytes <= 0)) return {"none", 0};
  const bool compute = bytes <= 0 || flops / bytes >= peak_flops / bandwidth;
  return compute ? Efficiency{"compute", 100.0 * flops / s / peak_flops} : Efficiency{"memory", 100.0 * bytes / s / bandwidth};
}

// Decoder layer, Mamba block, attention or MLP block, or a hybrid, from what the block contains.
std::string block_kind(const std::vector<ModuleCost>& m, size_t i) {
  bool mlp = false;
  for (size_t j = i + 1; j < m.size() && m[j].depth > m[i].depth; ++j)
    mlp = mlp || m[j].type.find("MLP") != std::string::npos || m[j].type.find("FeedForward") != std::string::npos;
  const bool ssm = m[i].by_class[static_cast<size_t>(ops::OpClass::ssm)] > 0;
  const bool attention = m[i].by_class[static_cast<size_t>(ops::OpClass::attention)] > 0;
  if (ssm && attention) return "hybrid";
  if (ssm) return "mamba";
  if (attention && mlp) return m[i].path.find("encoder") != std::string::npos ? "encoder layer" : "decoder layer";
  if (attention) return "attention";
  if (mlp) return "mlp";
  return "other";
}

}  // namespace

io::ordered_json profile_document(const ProfileReport& r, const Ceilings& ceil, DType weights) {
  const ProfileOptions& o = r.options;
  const auto& mods = r.cost.modules;
  const GemmCeiling& gemm = ceil.gemm_peak(weights);
  const double peak = gemm.gflops * 1e9, bandwidth = ceil.read_gbs * 1e9;
  const double forward_s = r.forward.median;
  const double tokens = static_cast<double>(o.batch * o.tokens);

  // Modules by path in call order, repeated calls of one path (a scope entered twice) merged.
  io::ordered_json modules = io::ordered_json::array();
  std::map<std::string, size_t> row_of;
  struct Row {
    size_t first;
    int calls = 0;
    double incl = 0, self = 0, flops = 0, self_flops = 0, bytes = 0, self_bytes = 0;
  };
  std::vector<Row> rows;
  double sum_self = 0;
  for (size_t i = 0; i < mods.size(); ++i) {
    auto [it, fresh] = row_of.emplace(mods[i].path, rows.size());
    if (fresh) rows.push_back({i});
    Row& row = rows[it->second];
    row.calls += 1;
    row.incl += r.inclusive_s[i];
    row.self += r.self_s[i];
    row.flops += mods[i].flops;
    row.self_flops += mods[i].self_flops;
    row.bytes += static_cast<double>(mods[i].bytes);
    row.self_bytes += static_cast<double>(mods[i].self_bytes);
    sum_self += r.self_s[i];
  }
  for (const Row& row : rows) {
    const ModuleCost& m = mods[row.first];
    const Efficiency e = efficiency(row.self_flops, row.self_bytes, row.self, peak, bandwidth);
    modules.push_back({{"path", m.path},
                       {"type", m.type},
                       {"depth", m.depth},
                       {"calls", row.calls},
                       {"inclusive_ms", row.incl * kMs},
                       {"self_ms", row.self * kMs},
                       {"flops", row.flops},
                       {"self_flops", row.self_flops},
                       {"bytes", row.bytes},
                       {"self_bytes", row.self_bytes},
                       {"self_gflops_per_s", row.self > 0 ? row.self_flops / row.self / 1e9 : 0.0},
                       {"self_gb_per_s", row.self > 0 ? row.self_bytes / row.self / 1e9 : 0.0},
                       {"intensity", row.self_bytes > 0 ? row.self_flops / row.self_bytes : 0.0},
                       {"bound", e.bound},
                       {"pct_of_ceiling", e.pct}});
  }

  // Blocks: the children of the outermost ModuleLists (the layer stacks; adapter lists inside a
  // layer are deeper).
  io::ordered_json blocks = io::ordered_json::array();
  const std::vector<int> parent = module_parents(mods);
  int list_depth = 1 << 30;
  for (const auto& m : mods)
    if (m.type == "ModuleList") list_depth = std::min(list_depth, m.depth);
  for (size_t i = 0; i < mods.size(); ++i) {
    if (parent[i] < 0 || mods[static_cast<size_t>(parent[i])].type != "ModuleList" || mods[i].depth != list_depth + 1) continue;
    const double s = r.inclusive_s[i], bytes = static_cast<double>(mods[i].bytes);
    const Efficiency e = efficiency(mods[i].flops, bytes, s, peak, bandwidth);
    blocks.push_back({{"index", static_cast<int>(blocks.size())},
                      {"path", mods[i].path},
                      {"type", mods[i].type},
                      {"kind", block_kind(mods, i)},
                      {"ms", s * kMs},
                      {"pct_of_forward", forward_s > 0 ? 100.0 * s / forward_s : 0.0},
                      {"flops", mods[i].flops},
                      {"flops_by_class", class_json(mods[i].by_class)},
                      {"bytes", bytes},
                      {"gflops_per_s", s > 0 ? mods[i].flops / s / 1e9 : 0.0},
                      {"pct_of_peak", s > 0 ? 100.0 * mods[i].flops / s / peak : 0.0},
                      {"bound", e.bound},
                      {"pct_of_ceiling", e.pct}});
  }

  struct TypeRow {
    int calls = 0;
    double self = 0, incl = 0;
  };
  std::map<std::string, TypeRow> by_type;
  for (size_t i = 0; i < mods.size(); ++i) {
    auto& t = by_type[mods[i].type];
    t.calls += 1;
    t.self += r.self_s[i];
    t.incl += r.inclusive_s[i];
  }
  std::vector<std::pair<std::string, TypeRow>> types(by_type.begin(), by_type.end());
  std::stable_sort(types.begin(), types.end(), [](const auto& a, const auto& b) { return a.second.self > b.second.self; });
  io::ordered_json type_rows = io::ordered_json::array();
  for (const auto& [type, t] : types)
    type_rows.push_back({{"type", type},
                         {"calls_per_pass", t.calls},
                         {"self_ms", t.self * kMs},
                         {"self_pct_of_forward", forward_s > 0 ? 100.0 * t.self / forward_s : 0.0},
                         {"inclusive_ms", t.incl * kMs},
                         {"mean_inclusive_ms", t.incl / t.calls * kMs}});

  const double all_flops = r.cost.total + r.cost.elementwise;
  return {{"schema", "anatomy.profile/1"},
          {"options",
           {{"batch", o.batch}, {"tokens", o.tokens}, {"decode", o.decode}, {"context", o.context},
            {"source_ids", o.source_ids},
            {"warmup", o.warmup}, {"repeat", o.repeat}, {"threads", backend::threads()}, {"weights_dtype", dtype_name(weights)}}},
          {"ceilings",
           {{"gemm_gflops_per_s", gemm.gflops},
            {"gemm", fmt::format("{} GEMM, {}×{}×{} ({})", gemm.dtype, gemm.m, gemm.n, gemm.k, gemm.shape_kind)},
            {"memory_read_gb_per_s", ceil.read_gbs},
            {"balance_flops_per_byte", peak / bandwidth},
            {"source", ceil.source()},
            {"measured_at", ceil.measured_at},
            {"quick", ceil.quick},
            {"ceilings_file", ceil.from_file},
            {"gemm_shape", {{"dtype", gemm.dtype}, {"m", gemm.m}, {"n", gemm.n}, {"k", gemm.k}}},
            {"processor", ceil.device == "cuda" ? ceil.gpu.value("name", std::string("GPU")) : ceil.processor.model},
            {"cache_file", ceil.cache_file},
            {"gemm_paths", ceil.device == "cuda" ? io::ordered_json("cuBLASLt") : gemm_plan_json(backend::gemm_plan())}}},
          {"timing",
           {{"context_prefill_ms", r.context_prefill_s * kMs},
            {"first_forward_ms", r.first_forward_s * kMs},
            {"forward_ms", stats_json(r.forward)},
            {"instrumented_ms", stats_json(r.instrumented)},
            {"tokens_per_s", forward_s > 0 ? tokens / forward_s : 0.0},
            {"overhead_pct", 100.0 * r.overhead.median},
            {"overhead_spread_pct", {{"p10", 100.0 * r.overhead.p10}, {"p90", 100.0 * r.overhead.p90},
                                     {"min", 100.0 * r.overhead.min}, {"max", 100.0 * r.overhead.max}}},
            {"overhead_within_noise", r.overhead.p10 <= 0 && r.overhead.p90 >= 0},
            {"plain_passes_ms", ms_list(r.plain_s)},
            {"instrumented_passes_ms", ms_list(r.instrumented_s)},
            {"sum_of_self_ms", sum_self * kMs},
            {"sum_error_pct", 100.0 * (sum_self - forward_s) / forward_s}}},
          {"flops",
           {{"total", r.cost.total},
            {"elementwise", r.cost.elementwise},
            {"by_class", class_json(r.cost.by_class)},
            {"gflops_per_s", all_flops / forward_s / 1e9},
            {"pct_of_peak", 100.0 * all_flops / forward_s / peak}}},
          {"blocks", blocks},
          {"types", type_rows},
          {"modules", modules}};
}

}  // namespace anatomy::analysis
