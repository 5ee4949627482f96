// `anatomy device`: quick calibration measures every ceiling it names, the cache is per machine
// and build, is re-read, and is replaced when damaged or when recalibrating.
#include <gtest/gtest.h>

#include <cstdlib>

#include "analysis/device.h"
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
  EXPECT_THROW(ceilings_from_json(io::json::parse(R"({"processor": {}})")), std::exception);
}

TEST(Device, CachesPerMachineAndBuild) {
  test::TempDir dir;
  ::setenv("ANATOMY_CACHE_DIR", dir.path().c_str(), 1);
  const Ceilings first = device_ceilings(false, true);
  EXPECT_FALSE(first.from_cache);
  ASSERT_FALSE(first.cache_file.empty());
  const Ceilings again = device_ceilings(false, true);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.measured_at, first.measured_at);
  EXPECT_EQ(again.gemm[0].gflops, first.gemm[0].gflops);

  test::write_file(first.cache_file, "{ not json");
  const Ceilings repaired = device_ceilings(false, true);
  EXPECT_FALSE(repaired.from_cache);
  EXPECT_TRUE(device_ceilings(false, true).from_cache);
  EXPECT_FALSE(device_ceilings(/*recalibrate=*/true, true).from_cache);
  ::unsetenv("ANATOMY_CACHE_DIR");
}

}  // namespace
}  // namespace anatomy::analysis
