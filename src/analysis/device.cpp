#include "analysis/device.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "analysis/stats.h"
#include "backend/device.h"
#include "core/error.h"
#include "core/half.h"
#include "ops/ops.h"

namespace anatomy::analysis {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\n");
  const auto e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Median seconds of f() over at least `min_reps` runs and `min_seconds` of runs, after one
// warm-up call (first-touch page faults, oneDNN primitive creation).
template <class F>
double median_seconds(F&& f, int min_reps, double min_seconds) {
  f();
  std::vector<double> times;
  const auto start = Clock::now();
  while (static_cast<int>(times.size()) < min_reps ||
         std::chrono::duration<double>(Clock::now() - start).count() < min_seconds) {
    const auto t0 = Clock::now();
    f();
    times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return stats_of(std::move(times)).median;
}

// Values in [-1, 1) from a fixed hash: a GPU multiplies zeros faster than data (seen: 13 % for a
// bf16 GEMM on an H200), so a ceiling is measured on non-zero operands.
Tensor varied(DType dtype, Shape shape) {
  Tensor t = Tensor::empty(dtype, std::move(shape));
  const auto n = static_cast<int64_t>(t.numel());
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float v = static_cast<float>((static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull) >> 40) / 8388608.0f - 1.0f;
    if (dtype == DType::F32) t.data<float>()[i] = v;
    else t.data<uint16_t>()[i] = dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
  return t;
}

GemmCeiling measure_gemm(DType dtype, int64_t m, int64_t n, int64_t k, const std::string& kind, bool quick) {
  Tensor x = Tensor::empty(DType::F32, {m, k});
  Tensor w = Tensor::zeros(dtype, {n, k});  // values do not change the time of a dense GEMM
  w.storage()->freeze();                     // as inference's weights: through the copies paths keep
  std::fill_n(x.data<float>(), x.numel(), 0.5f);
  const ops::Context ctx(backend::cpu());
  const double s = median_seconds([&] { ops::linear(ctx, x, w, nullptr); }, quick ? 2 : 3, quick ? 0.0 : 0.3);
  return {dtype_name(dtype), m, n, k, kind, 2.0 * static_cast<double>(m * n * k) / s / 1e9};
}

void measure_bandwidth(Ceilings& c, bool quick) {
  // 256 MiB per array is far beyond any last-level cache on CPUs of today.
  const int64_t n = quick ? (int64_t{1} << 21) : (int64_t{1} << 26);
  // Tensors, so that the arrays sit on the pages weights get (huge pages where offered: HeapStorage).
  Tensor a = Tensor::full({n}, 1.0f), b = Tensor::full({n}, 2.0f), d = Tensor::full({n}, 3.0f);
  volatile double sink = 0;
  const int reps = quick ? 2 : 10;
  const double read_s = median_seconds([&] { sink = sink + backend::stream_read(a.data<float>(), n); }, reps, 0);
  const double triad_s =
      median_seconds([&] { backend::stream_triad(a.data<float>(), b.data<float>(), d.data<float>(), 0.5f, n); }, reps, 0);
  c.read_gbs = 4.0 * static_cast<double>(n) / read_s / 1e9;
  c.triad_gbs = 12.0 * static_cast<double>(n) / triad_s / 1e9;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A rebuilt binary may have other kernels, so ceilings are cached per build as well as per machine.
std::string build_id() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  struct stat st {};
  if (ec || ::stat(exe.c_str(), &st) != 0) return "unknown build";
  return fmt::format("{} ({} bytes, modified {})", exe.string(), st.st_size, st.st_mtime);
}

fs::path cache_dir() {
  if (const char* d = std::getenv("ANATOMY_CACHE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return fs::path(d) / "anatomy";
  if (const char* d = std::getenv("HOME"); d && *d) return fs::path(d) / ".cache" / "anatomy";
  return {};
}

fs::path cache_file(const Processor& p, const std::string& build, const std::string& device) {
  const fs::path dir = cache_dir();
  if (dir.empty()) return {};
  // The kernels' ISA is part of the key: $ANATOMY_CPU_ISA=avx2 has ceilings and GEMM paths of its own.
  const size_t key = std::hash<std::string>{}(fmt::format("{}|{}|{}|{}{}|{}", p.model, p.logical_cpus, p.threads, build,
                                                          device.empty() ? "" : "|" + device, backend::kernel_isa()));
  return dir / fmt::format("device-{:016x}.json", key);
}

void save(const Ceilings& c, const fs::path& file) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << to_json(c).dump(2) << "\n";
    if (!out) return;  // an unwritable cache only costs a re-measurement next time
  }
  fs::rename(tmp, file, ec);
}

// The ceilings cached in `file` when they are this build's, for this thread count, and full;
// nothing when absent or damaged (a new measurement replaces them).
std::optional<Ceilings> read_cache(const fs::path& file, const std::string& build, int threads) {
  std::error_code ec;
  if (file.empty() || !fs::exists(file, ec)) return std::nullopt;
  try {
    Ceilings c = ceilings_from_json(io::load_json_file(file.string()));
    if (c.build != build || c.processor.threads != threads || c.quick) return std::nullopt;
    c.cache_file = file.string();
    c.from_cache = true;
    return c;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

const GemmCeiling& Ceilings::gemm_peak(DType dtype) const {
  for (const char* name : {dtype_name(dtype), "F32"}) {
    const GemmCeiling* best = nullptr;
    for (const auto& g : gemm)
      if (g.dtype == name && (!best || g.gflops > best->gflops)) best = &g;
    if (best) return *best;
  }
  fail(ErrorKind::internal, "device ceilings hold no GEMM measurement");
}

std::string Ceilings::source() const {
  if (!from_file.empty()) return fmt::format("read from {} ($ANATOMY_CEILINGS; measured {})", from_file, measured_at);
  return fmt::format("measured on this machine {} by `anatomy device`{}", measured_at,
                     quick ? " (quick calibration: small shapes, not a real ceiling)" : "");
}

Processor detect_processor() {
  Processor p;
  p.logical_cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  p.threads = backend::threads();
  std::set<std::pair<std::string, std::string>> cores;
  std::string package, flags;
  std::istringstream info(read_text("/proc/cpuinfo"));
  for (std::string line; std::getline(info, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "model name" && p.model.empty()) p.model = value;
    else if (key == "physical id") package = value;
    else if (key == "core id") cores.emplace(package, value);
    else if (key == "flags" && flags.empty()) flags = " " + value + " ";
    else if (key == "cpu MHz" && p.max_mhz == 0) {
      p.max_mhz = std::atof(value.c_str());
      p.clock_source = "/proc/cpuinfo cpu MHz (current, not maximum)";
    }
  }
  p.physical_cores = static_cast<int>(cores.size());
  for (const char* isa : {"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni",
                          "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile"})
    if (flags.find(fmt::format(" {} ", isa)) != std::string::npos) p.isa.emplace_back(isa);
  if (const std::string khz = trim(read_text("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")); !khz.empty()) {
    p.max_mhz = std::atof(khz.c_str()) / 1000.0;
    p.clock_source = "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq";
  }
  if (p.model.empty()) p.model = "unknown processor";
  return p;
}

std::vector<backend::GemmPlanStep> calibrate_gemm_paths(bool quick, std::vector<PathTiming>& timings, Progress& progress) {
  // A weight of the 1B-class models' attention/MLP shapes (32 MiB in f32, beyond L2) and the M of
  // every range a prefill or a batch of decodes falls in.
  const int64_t n = quick ? 256 : 4096, k = quick ? 128 : 2048;
  const std::vector<int64_t> ms = quick ? std::vector<int64_t>{2, 8, 32} : std::vector<int64_t>{2, 4, 8, 16, 32, 64, 128, 256};
  std::vector<std::string> paths;
  for (const auto& p : backend::gemm_paths())
    if (backend::gemm_path_unavailable(p).empty()) paths.push_back(p);
  std::vector<backend::GemmPlanStep> plan;
  timings.clear();
  ProgressTask task(progress, "timing the prefill GEMM paths", 3 * ms.size());
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    const Tensor w = varied(dtype, {n, k});
    w.storage()->freeze();  // as weights loaded for inference are: paths may keep copies
    for (int64_t m : ms) {
      const Tensor x = varied(DType::F32, {m, k});
      Tensor out = Tensor::empty(DType::F32, {m, n});
      PathTiming t{dtype_name(dtype), m, n, k, {}, ""};
      // Rounds that run every path once, so that a burst of noise on a shared machine hits all
      // paths alike; the median of each path's rounds.
      std::vector<std::string> ran;
      for (const auto& p : paths)
        if (backend::linear_through(p, x, w, out)) ran.push_back(p);  // warm-up; false: over the copies' budget
      std::vector<std::vector<double>> times(ran.size());
      for (int round = 0; round < (quick ? 1 : 5); ++round)
        for (size_t i = 0; i < ran.size(); ++i) {
          const auto t0 = Clock::now();
          backend::linear_through(ran[i], x, w, out);
          times[i].push_back(std::chrono::duration<double>(Clock::now() - t0).count());
        }
      double best = 0;
      for (size_t i = 0; i < ran.size(); ++i) {
        const double gflops = 2.0 * static_cast<double>(m * n * k) / stats_of(std::move(times[i])).median / 1e9;
        t.gflops.emplace_back(ran[i], gflops);
        if (gflops > best) best = gflops, t.fastest = ran[i];
      }
      if (t.fastest.empty()) break;  // half weights without AVX2: the reference kernel runs them
      if (plan.empty() || plan.back().dtype != t.dtype || plan.back().path != t.fastest) plan.push_back({t.dtype, m, t.fastest});
      timings.push_back(std::move(t));
      task.update(timings.size());
    }
  }
  return plan;
}

void apply_gemm_plan(const Ceilings& c) {
  if (c.device != "cpu" || c.gemm_plan.empty()) return;
  const std::string where = !c.from_file.empty() ? c.from_file + " ($ANATOMY_CEILINGS)" : c.cache_file.empty() ? "this run" : c.cache_file;
  backend::set_gemm_plan({c.gemm_plan, fmt::format("calibrated {} ({})", c.measured_at, where)});
}

Ceilings measure_ceilings(bool quick, Progress& progress) {
  Ceilings c;
  c.processor = detect_processor();
  c.build = build_id();
  c.measured_at = utc_now();
  c.quick = quick;
  c.processor.measured_mhz = backend::measure_clock_mhz();
  // The paths first, so that the ceilings below are measured through the ones chosen.
  c.gemm_plan = calibrate_gemm_paths(quick, c.path_timings, progress);
  apply_gemm_plan(c);
  // Large square, a prefill MLP projection (T = 128, 2048 → 8192) and a small batch that takes
  // the register-blocked half-precision path.
  const int64_t s = quick ? 4 : 1;
  ProgressTask task(progress, quick ? "measuring ceilings (quick)" : "measuring this machine's ceilings", 10);
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    c.gemm.push_back(measure_gemm(dtype, 2048 / s, 2048 / s, 2048 / s, "large square", quick));
    c.gemm.push_back(measure_gemm(dtype, 128 / s, 8192 / s, 2048 / s, "prefill projection", quick));
    c.gemm.push_back(measure_gemm(dtype, 16, 2048 / s, 2048 / s, "small batch", quick));
    task.update(c.gemm.size() / 3 * 3);
  }
  measure_bandwidth(c, quick);
  return c;
}

Ceilings cached_ceilings(bool recalibrate, const std::function<Ceilings()>& measure, const std::string& device) {
  const Processor p = detect_processor();
  const std::string build = build_id();
  const fs::path file = cache_file(p, build, device);
  if (!recalibrate)
    if (auto cached = read_cache(file, build, p.threads)) return *cached;
  Ceilings c = measure();
  if (c.quick) fail(ErrorKind::internal, "quick ceilings are never cached");
  if (!file.empty()) {
    save(c, file);
    if (fs::exists(file)) c.cache_file = file.string();
  }
  return c;
}

Ceilings device_ceilings(bool recalibrate, Progress& progress) {
  if (const char* f = std::getenv("ANATOMY_CEILINGS"); f && *f) {
    Ceilings c;
    const io::json j = io::load_json_file(f);
    try {
      c = ceilings_from_json(j);
    } catch (const std::exception&) {
      fail(ErrorKind::format, fmt::format("{} ($ANATOMY_CEILINGS): not a ceilings document as `anatomy device --format json` "
                                          "writes it", f));
    }
    if (c.quick) fail(ErrorKind::config, fmt::format("{} ($ANATOMY_CEILINGS): quick calibration results are not ceilings", f));
    c.from_file = f;
    apply_gemm_plan(c);
    return c;
  }
  Ceilings c = cached_ceilings(recalibrate, [&] { return measure_ceilings(false, progress); });
  apply_gemm_plan(c);  // again: the cache file's name is known only now
  return c;
}

std::string use_calibrated_gemm_plan() {
  if (const char* f = std::getenv("ANATOMY_CEILINGS"); f && *f) {
    device_ceilings(false);  // reads the file, measures nothing
  } else {
    const Processor p = detect_processor();
    const std::string build = build_id();
    if (auto cached = read_cache(cache_file(p, build, ""), build, p.threads)) apply_gemm_plan(*cached);
  }
  return backend::gemm_plan().source;
}

namespace {

// One GEMM through the CUDA backend's linear op, timed with events on its stream.
GemmCeiling measure_gpu_gemm(DType dtype, int64_t m, int64_t n, int64_t k, const std::string& kind, int repeats) {
  const auto gpu = backend::cuda();
  const Tensor x = gpu->upload(varied(DType::F32, {m, k})), w = gpu->upload(varied(dtype, {n, k}));
  const ops::Context ctx(gpu);
  auto timeline = gpu->timeline();
  ops::linear(ctx, x, w, nullptr);  // warm-up: plan and workspace
  std::vector<double> s;
  for (int r = 0; r < repeats; ++r) {
    timeline->clear();
    const size_t a = timeline->stamp();
    ops::linear(ctx, x, w, nullptr);
    const size_t b = timeline->stamp();
    gpu->synchronize();
    s.push_back(timeline->seconds(a, b));
  }
  return {dtype_name(dtype), m, n, k, kind, 2.0 * static_cast<double>(m * n * k) / stats_of(std::move(s)).median / 1e9};
}

}  // namespace

Ceilings measure_gpu_ceilings(bool quick, Progress& progress) {
  const backend::GpuInfo g = backend::gpu_info();
  Ceilings c;
  c.device = "cuda";
  c.gpu = {{"name", g.name}, {"multiprocessors", g.multiprocessors}, {"compute_capability", fmt::format("{}.{}", g.cc_major, g.cc_minor)},
           {"memory_bytes", g.memory_bytes}, {"l2_bytes", g.l2_bytes}, {"driver", g.driver}, {"runtime", g.runtime}};
  c.processor = detect_processor();
  c.build = build_id();
  c.measured_at = utc_now();
  c.quick = quick;
  const int64_t s = quick ? 8 : 1;
  const int reps = quick ? 3 : 20;
  ProgressTask task(progress, "measuring the GPU's ceilings", 10);
  for (DType dtype : {DType::BF16, DType::F16, DType::F32}) {
    c.gemm.push_back(measure_gpu_gemm(dtype, 8192 / s, 8192 / s, 8192 / s, "large square", reps));
    c.gemm.push_back(measure_gpu_gemm(dtype, 512 / s, 8192 / s, 4096 / s, "prefill projection", reps));
    c.gemm.push_back(measure_gpu_gemm(dtype, 1, 8192 / s, 4096 / s, "decode (one token)", reps));
    task.update(c.gemm.size() / 3 * 3);
  }
  const uint64_t bytes = quick ? (uint64_t{64} << 20) : (uint64_t{2} << 30);
  c.read_gbs = backend::gpu_read_gbs(bytes, reps);
  c.copy_gbs = backend::gpu_copy_gbs(bytes, reps);
  return c;
}

Ceilings gpu_ceilings(bool recalibrate, Progress& progress) {
  const backend::GpuInfo g = backend::gpu_info();
  return cached_ceilings(recalibrate, [&] { return measure_gpu_ceilings(false, progress); }, "cuda " + g.name);
}

FmaPeak fma_peak(const Processor& p, const std::string& kernel_isa) {
  const bool measured = p.measured_mhz > 0;
  const double mhz = measured ? p.measured_mhz : p.max_mhz;
  if (mhz <= 0) return {0, "the clock is not readable"};
  const int cores = p.physical_cores > 0 ? p.physical_cores : p.logical_cpus;
  const bool amd = p.model.find("AMD") != std::string::npos;
  const bool zen5 = p.model.find("Zen 5") != std::string::npos || p.model.find("9005") != std::string::npos;
  const int lanes = kernel_isa == "avx512" ? 16 : kernel_isa == "avx2" ? 8 : 1;
  const int units = kernel_isa == "avx512" && amd && !zen5 ? 1 : kernel_isa == "scalar" ? 1 : 2;
  const double gflops = cores * units * lanes * 2.0 * mhz / 1000.0;
  return {gflops, fmt::format("{} cores × {} FMA unit{} × {} f32 lanes ({}) × 2 FLOP × {:.3f} GHz ({})", cores, units,
                              units == 1 ? "" : "s", lanes, kernel_isa, mhz / 1000.0,
                              measured ? "measured: a one-add-per-cycle chain on every thread under vector FMA load"
                                       : p.clock_source)};
}

namespace {

io::ordered_json steps_json(const std::vector<backend::GemmPlanStep>& steps) {
  io::ordered_json plan = io::ordered_json::array();
  for (const auto& s : steps) plan.push_back({{"dtype", s.dtype}, {"m_from", s.m_from}, {"path", s.path}});
  return plan;
}

io::ordered_json gemm_paths_json(const Ceilings& c) {
  io::ordered_json plan = steps_json(c.gemm_plan), measured = io::ordered_json::array();
  for (const auto& t : c.path_timings) {
    io::ordered_json g = io::ordered_json::object();
    for (const auto& [path, gflops] : t.gflops) g[path] = gflops;
    measured.push_back({{"dtype", t.dtype}, {"m", t.m}, {"n", t.n}, {"k", t.k}, {"gflops", g}, {"fastest", t.fastest}});
  }
  return {{"plan", plan}, {"measured", measured}};
}

}  // namespace

io::ordered_json gemm_plan_json(const backend::GemmPlan& plan) {
  return {{"source", plan.source}, {"plan", steps_json(plan.steps)}};
}

io::ordered_json to_json(const Ceilings& c) {
  const Processor& p = c.processor;
  io::ordered_json gemm = io::ordered_json::array();
  for (const auto& g : c.gemm)
    gemm.push_back({{"dtype", g.dtype}, {"m", g.m}, {"n", g.n}, {"k", g.k}, {"shape", g.shape_kind}, {"gflops", g.gflops}});
  io::ordered_json memory = {{"read_gbs", c.read_gbs}, {"triad_gbs", c.triad_gbs}};
  if (c.device == "cuda") memory = {{"read_gbs", c.read_gbs}, {"copy_gbs", c.copy_gbs}};
  return {{"schema", "anatomy.device/1"},
          {"device", c.device},
          {"gpu", c.gpu.is_null() ? io::ordered_json::object() : c.gpu},
          {"processor",
           {{"model", p.model}, {"logical_cpus", p.logical_cpus}, {"physical_cores", p.physical_cores},
            {"threads", p.threads}, {"isa", p.isa}, {"max_mhz", p.max_mhz}, {"clock_source", p.clock_source},
            {"measured_mhz", p.measured_mhz}}},
          {"build", c.build},
          {"measured_at", c.measured_at},
          {"quick", c.quick},
          {"source", c.source()},
          {"gemm", gemm},
          {"memory", memory},
          {"gemm_paths", gemm_paths_json(c)},
          {"cache_file", c.cache_file},
          {"from_cache", c.from_cache}};
}

Ceilings ceilings_from_json(const io::json& j) {
  Ceilings c;
  const auto& p = j.at("processor");
  c.processor = {p.at("model"), p.at("logical_cpus"), p.at("physical_cores"), p.at("threads"),
                 p.at("isa").get<std::vector<std::string>>(), p.at("max_mhz"), p.at("clock_source"), p.value("measured_mhz", 0.0)};
  c.build = j.at("build");
  c.measured_at = j.at("measured_at");
  c.quick = j.at("quick");
  for (const auto& g : j.at("gemm"))
    c.gemm.push_back({g.at("dtype"), g.at("m"), g.at("n"), g.at("k"), g.at("shape"), g.at("gflops")});
  c.device = j.value("device", "cpu");
  if (j.contains("gpu") && !j["gpu"].empty()) c.gpu = io::ordered_json::parse(j["gpu"].dump());
  c.read_gbs = j.at("memory").at("read_gbs");
  c.triad_gbs = j.at("memory").value("triad_gbs", 0.0);
  c.copy_gbs = j.at("memory").value("copy_gbs", 0.0);
  if (j.contains("gemm_paths")) {
    for (const auto& st : j["gemm_paths"].at("plan")) c.gemm_plan.push_back({st.at("dtype"), st.at("m_from"), st.at("path")});
    for (const auto& t : j["gemm_paths"].at("measured")) {
      PathTiming pt{t.at("dtype"), t.at("m"), t.at("n"), t.at("k"), {}, t.at("fastest")};
      for (const auto& [path, g] : t.at("gflops").items()) pt.gflops.emplace_back(path, g.get<double>());
      c.path_timings.push_back(std::move(pt));
    }
  }
  if (c.gemm.empty() || c.read_gbs <= 0) fail(ErrorKind::format, "device cache: no measurements");
  return c;
}

}  // namespace anatomy::analysis
