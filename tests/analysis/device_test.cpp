// `anatomy device`: quick calibration measures every ceiling it names, the cache is per machine
// and build, is re-read, and is replaced when damaged or when recalibrating.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "analysis/device.h"
#include "core/error.h"
#include "test_util.h"

namespace anatomy::analysis {
namespace {

TEST(Device, DetectsTheProcessor) {
  const Processor p = detect_processor();
  EXPECT_FALSE(p.model.empty());
  EXPECT_GE(p.logical_cpus, 1);
  EXPECT_GE(p.threads, 1);
}

TEST(Device, QuickCalibrationMeasuresEveryCeiling) {
  const Ceilings c = measure_ceilings(/*quick=*/true);
  EXPECT_TRUE(c.quick);
  ASSERT_EQ(c.gemm.size(), 9u);  // 3 dtypes × 3 shapes
  for (const auto& g : c.gemm) EXPECT_GT(g.gflops, 0) << g.dtype << " " << g.shape_kind;
  EXPECT_GT(c.read_gbs, 0);
  EXPECT_GT(c.triad_gbs, 0);
  // The clock under load: a plausible core clock, and the FMA peak is computed from it.
  EXPECT_GT(c.processor.measured_mhz, 300);
  EXPECT_LT(c.processor.measured_mhz, 8000);
  EXPECT_NE(fma_peak(c.processor, "avx2").basis.find("measured"), std::string::npos);
  EXPECT_EQ(c.gemm_peak(DType::BF16).dtype, "BF16");
  EXPECT_EQ(c.gemm_peak(DType::Q8_0).dtype, "F32");  // not measured: the F32 ceiling, named as such
  EXPECT_NE(c.source().find(c.measured_at), std::string::npos);
  EXPECT_NE(c.source().find("quick"), std::string::npos);
}

TEST(Device, JsonRoundTrip) {
  const Ceilings c = measure_ceilings(true);
  const Ceilings back = ceilings_from_json(io::json::parse(to_json(c).dump()));
  EXPECT_EQ(back.measured_at, c.measured_at);
  EXPECT_EQ(back.gemm.size(), c.gemm.size());
  EXPECT_EQ(back.gemm[4].gflops, c.gemm[4].gflops);
  EXPECT_EQ(back.read_gbs, c.read_gbs);
  EXPECT_EQ(back.processor.isa, c.processor.isa);
  EXPECT_EQ(back.processor.measured_mhz, c.processor.measured_mhz);
  EXPECT_THROW(ceilings_from_json(io::json::parse(R"({"processor": {}})")), std::exception);
}

// The cache logic with a stand-in measurement (a real one takes seconds): a quick calibration
// relabelled as full, counted so that every re-measurement is visible.
TEST(Device, CachesPerMachineAndBuild) {
  test::TempDir dir;
  ::setenv("ANATOMY_CACHE_DIR", dir.path().c_str(), 1);
  int measured = 0;
  const auto measure = [&] {
    Ceilings c = measure_ceilings(true);
    c.quick = false;
    ++measured;
    return c;
  };
  const Ceilings first = cached_ceilings(false, measure);
  EXPECT_FALSE(first.from_cache);
  ASSERT_FALSE(first.cache_file.empty());
  const Ceilings again = cached_ceilings(false, measure);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(measured, 1);
  EXPECT_EQ(again.measured_at, first.measured_at);
  EXPECT_EQ(again.gemm[0].gflops, first.gemm[0].gflops);

  test::write_file(first.cache_file, "{ not json");
  const Ceilings repaired = cached_ceilings(false, measure);
  EXPECT_FALSE(repaired.from_cache);
  EXPECT_TRUE(cached_ceilings(false, measure).from_cache);
  EXPECT_FALSE(cached_ceilings(/*recalibrate=*/true, measure).from_cache);
  EXPECT_EQ(measured, 3);
  ::unsetenv("ANATOMY_CACHE_DIR");
}

// Quick results are never ceilings: not cached, and a cached quick file is not served.
TEST(Device, QuickResultsAreNeverCeilings) {
  test::TempDir dir;
  ::setenv("ANATOMY_CACHE_DIR", dir.path().c_str(), 1);
  EXPECT_THROW(cached_ceilings(false, [] { return measure_ceilings(true); }), Error);
  int measured = 0;
  const auto full = [&] {
    Ceilings c = measure_ceilings(true);
    c.quick = false;
    ++measured;
    return c;
  };
  const Ceilings real = cached_ceilings(false, full);
  Ceilings quick = measure_ceilings(true);
  quick.build = real.build;
  test::write_file(real.cache_file, to_json(quick).dump());  // a quick result where the cache is
  EXPECT_FALSE(cached_ceilings(false, full).from_cache);
  EXPECT_EQ(measured, 2);

  const std::string file = dir.path() + "/quick.json";
  test::write_file(file, to_json(quick).dump());
  ::setenv("ANATOMY_CEILINGS", file.c_str(), 1);
  EXPECT_THROW(device_ceilings(false), Error);
  test::write_file(file, to_json(real).dump());
  EXPECT_EQ(device_ceilings(false).from_file, file);
  ::unsetenv("ANATOMY_CEILINGS");
  ::unsetenv("ANATOMY_CACHE_DIR");
}

// The calibration keeps, from each measured M on, the path that was fastest there; the plan
// survives the cache, commands take it from the cache without measuring, and a plan naming a path
// this build or CPU cannot run is refused with the file named.
TEST(Device, CalibrationKeepsTheFastestPathPerRangeOfM) {
  std::vector<PathTiming> timings;
  const auto plan = calibrate_gemm_paths(/*quick=*/true, timings);
  ASSERT_FALSE(timings.empty());
  ASSERT_FALSE(plan.empty());
  for (const auto& t : timings) {
    double best = 0;
    for (const auto& [path, gflops] : t.gflops) {
      EXPECT_GT(gflops, 0) << path;
      EXPECT_EQ(backend::gemm_path_unavailable(path), "") << path;
      best = std::max(best, gflops);
    }
    const auto fastest = std::find_if(t.gflops.begin(), t.gflops.end(), [&](const auto& g) { return g.first == t.fastest; });
    ASSERT_NE(fastest, t.gflops.end());
    EXPECT_EQ(fastest->second, best) << t.dtype << " M=" << t.m;
    // The plan sends this M to that path: the last step of the dtype at or below M.
    std::string planned;
    for (const auto& s : plan)
      if (s.dtype == t.dtype && s.m_from <= t.m) planned = s.path;
    EXPECT_EQ(planned, t.fastest) << t.dtype << " M=" << t.m;
  }
}

TEST(Device, CommandsTakeThePlanFromTheCache) {
  test::TempDir dir;
  ::setenv("ANATOMY_CACHE_DIR", dir.path().c_str(), 1);
  const backend::GemmPlan saved = backend::gemm_plan();
  EXPECT_EQ(use_calibrated_gemm_plan(), saved.source);  // no cache: the plan stays
  Ceilings c = measure_ceilings(true);
  c.quick = false;
  c.gemm_plan = {{"F32", 2, "onednn"}, {"F32", 40, "onednn_reordered"}};
  if (!backend::gemm_path_unavailable("onednn_reordered").empty()) c.gemm_plan.pop_back();
  const Ceilings cached = cached_ceilings(false, [&] { return c; });
  const std::string source = use_calibrated_gemm_plan();
  EXPECT_NE(source.find(cached.cache_file), std::string::npos) << source;
  EXPECT_EQ(backend::gemm_plan().steps.size(), c.gemm_plan.size());
  EXPECT_EQ(ceilings_from_json(io::json::parse(to_json(cached).dump())).gemm_plan.size(), c.gemm_plan.size());

  c.gemm_plan = {{"F32", 2, "no_such_path"}};
  const std::string file = dir.path() + "/other.json";
  test::write_file(file, to_json(c).dump());
  ::setenv("ANATOMY_CEILINGS", file.c_str(), 1);
  try {
    use_calibrated_gemm_plan();
    ADD_FAILURE() << "a plan naming an unknown path was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
  ::unsetenv("ANATOMY_CEILINGS");
  ::unsetenv("ANATOMY_CACHE_DIR");
  backend::set_gemm_plan(saved);
}

}  // namespace
}  // namespace anatomy::analysis
