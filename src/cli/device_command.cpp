// `anatomy device`: the processor and the measured ceilings every efficiency figure divides by.
#include <fmt/format.h>

#include "analysis/device.h"
#include "backend/cpu/gemm.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "core/error.h"

namespace anatomy::cli {

std::string device_command(const DeviceOptions& o) {
  const Format f = parse_format(o.format);
  if (o.threads < 0) fail(ErrorKind::config, "--threads must be positive");
  cpu::set_threads(o.threads);
  const analysis::Ceilings c = analysis::device_ceilings(o.calibrate, o.quick);
  if (f == Format::json) return to_json(c).dump(2) + "\n";

  const analysis::Processor& p = c.processor;
  std::string isa;
  for (const auto& i : p.isa) isa += (isa.empty() ? "" : " ") + i;
  Table proc({"property", "value"});
  proc.add({"processor", p.model});
  proc.add({"logical CPUs", std::to_string(p.logical_cpus)});
  proc.add({"physical cores", p.physical_cores > 0 ? std::to_string(p.physical_cores) : "unknown"});
  proc.add({"threads used", std::to_string(p.threads)});
  proc.add({"instruction sets", isa});
  proc.add({"clock", p.max_mhz > 0 ? fmt::format("{:.0f} MHz ({})", p.max_mhz, p.clock_source) : "not readable"});

  const auto r = Table::Align::right, l = Table::Align::left;
  Table gemm({"weights", "M", "N", "K", "shape", "GFLOP/s"}, {l, r, r, r, l, r});
  for (const auto& g : c.gemm)
    gemm.add({g.dtype, std::to_string(g.m), std::to_string(g.n), std::to_string(g.k), g.shape_kind, fmt::format("{:.1f}", g.gflops)});
  Table mem({"probe", "GB/s"}, {l, r});
  mem.add({"read (sum of a 256 MiB array)", fmt::format("{:.1f}", c.read_gbs)});
  mem.add({"triad (a = b + s·c, 3 × 256 MiB)", fmt::format("{:.1f}", c.triad_gbs)});

  std::string out = heading("Processor", f) + proc.render(f) + "\n";
  out += heading("GEMM ceilings (the engine's linear op, f32 activations)", f) + gemm.render(f) + "\n";
  out += heading("Memory bandwidth", f) + mem.render(f) + "\n";
  out += fmt::format("Source: {}.\n", c.source());
  out += c.cache_file.empty() ? "Not cached (no writable cache folder).\n"
                              : fmt::format("{} {} (`anatomy device --calibrate` re-measures).\n",
                                            c.from_cache ? "Read from the cache" : "Cached in", c.cache_file);
  return out;
}

}  // namespace anatomy::cli
