// `anatomy device`: the processor and the measured ceilings every efficiency figure divides by.
// The document is the ceilings' own JSON (the cache format); the tables are rendered from it.
#include <algorithm>

#include <fmt/format.h>

#include "analysis/device.h"
#include "backend/device.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "core/error.h"

namespace anatomy::cli {

io::ordered_json device_document(const DeviceOptions& o, Progress& progress) {
  backend::set_threads(o.threads);
  // --quick measures small shapes now and never touches the cache: it is not a ceiling.
  const bool gpu = o.device == "cuda";
  const analysis::Ceilings c = gpu ? (o.quick ? analysis::measure_gpu_ceilings(true, progress) : analysis::gpu_ceilings(o.calibrate, progress))
                                   : (o.quick ? analysis::measure_ceilings(true, progress) : analysis::device_ceilings(o.calibrate, progress));
  io::ordered_json d = to_json(c);
  d["kernel_isa"] = backend::kernel_isa();
  const auto peak = analysis::fma_peak(c.processor, backend::kernel_isa());
  d["fma_peak_gflops"] = peak.gflops;
  d["fma_peak_basis"] = peak.basis;
  return d;
}

namespace {

// The calibration of the prefill GEMM paths: GFLOP/s of each path per weight dtype and M, and the
// one the plan keeps from that M on.
std::string gemm_paths_table(const io::ordered_json& g, Format f) {
  std::vector<std::string> paths;
  for (const auto& t : g["measured"])
    for (const auto& [path, v] : t["gflops"].items())
      if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
  std::vector<std::string> head = {"weights", "M"};
  head.insert(head.end(), paths.begin(), paths.end());
  head.emplace_back("chosen");
  std::vector<Table::Align> align(head.size(), Table::Align::right);
  align[0] = align.back() = Table::Align::left;
  Table t(head, align);
  for (const auto& m : g["measured"]) {
    std::vector<std::string> row = {m["dtype"], std::to_string(m["m"].get<int64_t>())};
    for (const auto& p : paths) row.push_back(m["gflops"].contains(p) ? fmt::format("{:.1f}", m["gflops"][p].get<double>()) : "—");
    row.push_back(m["fastest"]);
    t.add(row);
  }
  const auto& first = g["measured"][0];
  return heading(fmt::format("Prefill GEMM paths, GFLOP/s at N = {}, K = {} (the fastest is used from its M to the next)",
                             first["n"].get<int64_t>(), first["k"].get<int64_t>()), f) + t.render(f) + "\n";
}

}  // namespace

std::string device_command(const DeviceOptions& o, Progress& progress) {
  const Format f = parse_format(o.format);
  const io::ordered_json d = device_document(o, progress);
  if (f == Format::json) return d.dump(2) + "\n";

  const auto& p = d["processor"];
  std::string isa;
  for (const auto& i : p["isa"]) {
    if (!isa.empty()) isa += ' ';
    isa += i.get<std::string>();
  }
  Table proc({"property", "value"});
  proc.add({"device", d["device"]});
  proc.add({"processor", p["model"]});
  proc.add({"logical CPUs", std::to_string(p["logical_cpus"].get<int>())});
  proc.add({"physical cores", p["physical_cores"].get<int>() > 0 ? std::to_string(p["physical_cores"].get<int>()) : "unknown"});
  proc.add({"threads used", std::to_string(p["threads"].get<int>())});
  proc.add({"instruction sets", isa});
  proc.add({"kernels dispatch to", d["kernel_isa"]});
  proc.add({"clock", p["max_mhz"].get<double>() > 0 ? fmt::format("{:.0f} MHz ({})", p["max_mhz"].get<double>(), p["clock_source"].get<std::string>())
                                                  : "not readable"});
  if (p.value("measured_mhz", 0.0) > 0)
    proc.add({"clock under load", fmt::format("{:.0f} MHz (measured: all threads running vector FMAs)", p["measured_mhz"].get<double>())});

  const auto r = Table::Align::right, l = Table::Align::left;
  Table gemm({"weights", "M", "N", "K", "shape", "GFLOP/s"}, {l, r, r, r, l, r});
  for (const auto& g : d["gemm"])
    gemm.add({g["dtype"], std::to_string(g["m"].get<int64_t>()), std::to_string(g["n"].get<int64_t>()),
              std::to_string(g["k"].get<int64_t>()), g["shape"], fmt::format("{:.1f}", g["gflops"].get<double>())});
  Table mem({"probe", "GB/s"}, {l, r});
  mem.add({"read (sum of a large array)", fmt::format("{:.1f}", d["memory"]["read_gbs"].get<double>())});
  if (d["memory"].contains("copy_gbs"))
    mem.add({"device-to-device copy (read + written)", fmt::format("{:.1f}", d["memory"]["copy_gbs"].get<double>())});
  else
    mem.add({"triad (a = b + s·c)", fmt::format("{:.1f}", d["memory"]["triad_gbs"].get<double>())});

  proc.add({"FMA peak (f32)", d["fma_peak_gflops"].get<double>() > 0
                                  ? fmt::format("{:.1f} GFLOP/s = {}", d["fma_peak_gflops"].get<double>(), d["fma_peak_basis"].get<std::string>())
                                  : d["fma_peak_basis"].get<std::string>()});
  std::string out = heading("Processor", f) + proc.render(f) + "\n";
  if (d["device"] == "cuda") {
    const auto& g = d["gpu"];
    Table gt({"property", "value"});
    gt.add({"GPU", g["name"]});
    gt.add({"multiprocessors", std::to_string(g["multiprocessors"].get<int>())});
    gt.add({"compute capability", g["compute_capability"]});
    gt.add({"memory", fmt::format("{:.1f} GiB", g["memory_bytes"].get<double>() / (1u << 30))});
    gt.add({"driver / runtime", fmt::format("{} / {}", g["driver"].get<std::string>(), g["runtime"].get<std::string>())});
    out += heading("GPU", f) + gt.render(f) + "\n";
    out += heading("GEMM ceilings (the CUDA backend's linear op: cuBLASLt, f32 activations, no TF32)", f) + gemm.render(f) + "\n";
  } else {
    out += heading("GEMM ceilings (the engine's linear op, f32 activations)", f) + gemm.render(f) + "\n";
  }
  if (d["device"] == "cpu" && !d["gemm_paths"]["measured"].empty()) out += gemm_paths_table(d["gemm_paths"], f);
  out += heading("Memory bandwidth", f) + mem.render(f) + "\n";
  out += fmt::format("Source: {}.\n", d["source"].get<std::string>());
  const std::string cache = d["cache_file"];
  if (o.quick) out += "Quick calibration: not cached, never used as the ceilings of a profile.\n";
  else if (cache.empty()) out += "Not cached (no writable cache folder).\n";
  else out += fmt::format("{} {} (`anatomy device --calibrate` re-measures).\n", d["from_cache"].get<bool>() ? "Read from the cache" : "Cached in", cache);
  return out;
}

}  // namespace anatomy::cli
