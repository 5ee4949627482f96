// AVX2 fast path of the embedding lookup: rows of F32, BF16 or F16 tables widened to F32.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/avx2.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {

using namespace avx2;

__attribute__((target("avx2,fma,f16c"))) bool embedding_fast(const Tensor& weight, const Tensor& ids, Tensor& out) {
  if ((weight.dtype() != DType::BF16 && weight.dtype() != DType::F16)) return false;
  const int64_t d = weight.dim(1), V = weight.dim(0), d8 = d / 8 * 8;
  const bool bf16 = weight.dtype() == DType::BF16;
  for (uint64_t i = 0; i < ids.numel(); ++i) {
    const int64_t id = std::clamp<int64_t>(id_at(ids, i), 0, V - 1);
    const uint16_t* row = weight.data<uint16_t>() + id * d;
    float* o = out.data<float>() + static_cast<int64_t>(i) * d;
    for (int64_t j = 0; j < d8; j += 8)
      _mm256_storeu_ps(o + j, bf16 ? avx2::widen8<DType::BF16>(row, j) : avx2::widen8<DType::F16>(row, j));
    for (int64_t j = d8; j < d; ++j) o[j] = load(weight, static_cast<uint64_t>(id * d + j));
  }
  return true;
}

}  // namespace anatomy::cpu
