// Probes for `anatomy device`: memory bandwidth and the clock under load. Memory-bandwidth probes: the rates at which this machine streams arrays
// far larger than its caches, with the engine's thread pool. Baseline flags on purpose: with
// enough independent accumulators any x86-64 core out-reads DRAM, whatever its vector width.
#pragma once

#include <cstdint>

namespace anatomy::cpu {

// Reads a[0..n) once (n a multiple of 32); returns their sum so that the loads cannot be elided.
double stream_read(const float* a, int64_t n);
// STREAM's triad: a[i] = b[i] + s·c[i] (2 reads, 1 write per element).
void stream_triad(float* a, const float* b, const float* c, float s, int64_t n);

// The clock every thread of the pool holds while all of them run vector FMAs at once (MHz, the
// median over threads of each one's best of 3 timed runs): a dependent add chain, one add per
// cycle, timed with the steady clock.
double measure_clock_mhz();

}  // namespace anatomy::cpu
